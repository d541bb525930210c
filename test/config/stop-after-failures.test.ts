/** targets.<name>.stopAfterFailures: its default follows the target's concurrency; a value given is kept; nonsense is refused at its path. */
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createTargetRuntime } from '../../src/execution/target-runtime.js';
import { configProblems } from '../support/config-problems.js';

const config = (extra: string) => `
source: { type: csv, path: people.csv, key: id }
targets:
  app:
    url: https://app.example/scim/v2
    auth: { type: bearer, token: "\${env:APP_TOKEN}" }
${extra}
`;
const env = { APP_TOKEN: 'app-token-for-the-breaker' };
const breaker = (extra: string) => createTargetRuntime('app', parseConfig(config(extra), '/etc/org.yaml', env).config.targets['app']!).stopAfterFailures;

it('defaults to 5 per request in flight, at least 20; a value given is kept', () => {
  expect(breaker('')).toBe(20);
  expect(breaker('    concurrency: 1')).toBe(20);
  expect(breaker('    concurrency: 10')).toBe(50);
  expect(breaker('    concurrency: 10\n    stopAfterFailures: 3')).toBe(3);
});

it('a count that is not a whole number of 1 or more is refused, naming the option', () => {
  for (const bad of ['0', '-2', '2.5', 'never']) {
    expect(configProblems(() => parseConfig(config(`    stopAfterFailures: ${bad}`), '/etc/org.yaml', env)).join('\n')).toContain('targets.app.stopAfterFailures');
  }
});
