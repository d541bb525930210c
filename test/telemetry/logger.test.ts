/** The operators' log: JSON records with the cycle and target, levels, the one redactor, and the short form for a terminal. */
import { expect, it } from 'vitest';
import { registerSecret } from '../../src/config/secret.js';
import { createLogger, prettyLine } from '../../src/telemetry/logger.js';

function capture(level: 'debug' | 'info' | 'warn', format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level, format, write: (l) => lines.push(l) }) };
}

it('writes one JSON record a line, with its level, time, cycle and target', () => {
  const { lines, logger } = capture('info');
  logger.child({ cycle: 'plan-1' }).log('applying 3 operations', { target: 'slack', operations: 3 });
  logger.log('noise', { level: 'debug' });
  logger.log('careful', { level: 'warn', target: 'okta' });
  expect(lines.map((l) => JSON.parse(l))).toEqual([
    { level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), cycle: 'plan-1', target: 'slack', operations: 3, msg: 'applying 3 operations' },
    { level: 'warn', time: expect.any(String), target: 'okta', msg: 'careful' },
  ]);
});

it('passes every line through the redactor, and the JSON stays JSON', () => {
  registerSecret('s3cret-"token"-value');
  const { lines, logger } = capture('debug');
  logger.log('the server said: bad token s3cret-"token"-value', { target: 'app', detail: 'Bearer s3cret-"token"-value' });
  expect(lines.join('\n')).not.toContain('s3cret');
  expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'the server said: bad token [redacted]', detail: 'Bearer [redacted]' });
});

it('on a terminal: time, level, [cycle target], message, then the other fields', () => {
  const { lines, logger } = capture('info', 'pretty');
  logger.child({ cycle: 'plan-1' }).log('applied', { target: 'slack', failed: 0 });
  expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO  \[plan-1 slack\] applied failed=0$/);
  expect(prettyLine('{"level":"error","time":"2026-01-01T10:00:00.000Z","msg":"boom"}', true)).toBe('10:00:00 \x1b[31mERROR\x1b[0m boom');
});
