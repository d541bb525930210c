import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { ConfigError } from '../../src/errors.js';
import { checkMappings } from '../../src/mapping/check-mappings.js';
import { configProblems } from '../support/config-problems.js';

const base = `
source: { type: csv, path: people.csv, key: id }
targets:
  slack:
    url: https://api.slack.example/scim/v2
    auth: { type: bearer, token: "\${env:SLACK_TOKEN}" }
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  return configProblems(() => parseConfig(text, '/etc/scim-sync/org.yaml', env));
}

describe('config loading', () => {
  it('a config file that cannot be read: a ConfigError naming it, keeping the system error as its cause', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'missing.yaml');
    let thrown: unknown;
    try {
      loadConfig(file);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toBe(`cannot read config ${file} (ENOENT)`);
    expect(((thrown as ConfigError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('resolves env and file references and keeps the token out of every printable form', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'pw'), 's3cr3t-from-file\n');
    const loaded = parseConfig(
      `${base}  gh:
    url: https://api.github.example/scim/v2
    auth: { type: basic, username: bot, password: "\${file:pw}" }
`,
      join(dir, 'org.yaml'),
      { SLACK_TOKEN: 'xoxp-very-secret-token' },
    );
    const slack = loaded.config.targets['slack']!.auth;
    expect(slack.type).toBe('bearer');
    const token = (slack as { token: Secret }).token;
    expect(token.reveal()).toBe('xoxp-very-secret-token');
    const gh = loaded.config.targets['gh']!.auth as { password: Secret };
    expect(gh.password.reveal()).toBe('s3cr3t-from-file');
    const printed = JSON.stringify(loaded.config) + inspect(loaded.config, { depth: 10 }) + String(token);
    expect(printed).not.toContain('xoxp-very-secret-token');
    expect(printed).not.toContain('s3cr3t-from-file');
    expect(loaded.config.targets['slack']!.concurrency).toBe(4);
    expect(loaded.config.safety.maxDeactivatePercent).toBe(10);
    expect(loaded.config.source.type === 'csv' && loaded.config.source.path).toBe(join(dir, 'people.csv'));
  });

  it('reports every problem at once, with path and line', () => {
    const found = problems(
      `source: { type: csv, path: people.csv }
targets:
  slack:
    url: not-a-url
    concurrency: 0
    auth: { type: bearer, token: "\${env:MISSING_TOKEN}" }
    colour: blue
`,
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^targets\.slack\.auth\.token \(line 6\): environment variable MISSING_TOKEN is not set$/),
        expect.stringMatching(/^source\.key \(line 1\): /),
        expect.stringMatching(/^targets\.slack\.url \(line 4\): /),
        expect.stringMatching(/^targets\.slack\.concurrency \(line 5\): /),
        expect.stringMatching(/^targets\.slack\.colour \(line 7\): unknown key$/),
      ]),
    );
  });

  it('a value that fits none of the forms a key takes is reported where the meant form breaks, not as "Invalid input"', () => {
    // The clause form was meant: {department: {eq: Engineering}}.
    const env = { SLACK_TOKEN: 'xoxp-0123456789' };
    expect(problems(`${base}    scope:\n      - { department: Engineering }\n`, env)).toEqual(['targets.slack.scope[0].department (line 8): Invalid input: expected object, received string']);
    expect(problems(`${base}    scope:\n      - { department: { eq: Eng, ne: Ops } }\n`, env)).toEqual([expect.stringMatching(/^targets\.slack\.scope\[0\]\.department \(line 8\): give exactly one operator/)]);
  });

  it('a credential shorter than 8 characters once the white space at its ends is gone is refused', () => {
    expect(
      problems(`source: { type: csv, path: people.csv, key: id }
targets:
  app:
    url: https://app.example.com/scim/v2
    auth: { type: bearer, token: "\${env:PADDED_TOKEN}" }
`, { PADDED_TOKEN: 'short7x   ' }),
    ).toEqual([expect.stringContaining('targets.app.auth.token: the credential from environment variable PADDED_TOKEN is shorter than 8 characters')]);
  });

  it('a reference that cannot be resolved is one problem at its line, not a second one about the empty value left there', () => {
    expect(
      problems(`source: { type: csv, path: people.csv, key: id }
targets:
  app:
    url: "\${env:UNSET_SCIM_URL}"
    auth: { type: bearer, token: "\${file:no-such-token-file}" }
`),
    ).toEqual([
      'targets.app.url (line 4): environment variable UNSET_SCIM_URL is not set',
      expect.stringMatching(/^targets\.app\.auth\.token \(line 5\): cannot read file .*no-such-token-file \(ENOENT\)$/),
    ]);
  });

  it('an unknown key at its own line with the nearest allowed name; a target name says which characters it may use', () => {
    const found = problems(
      `version: 1
source: { type: csv, path: people.csv, key: id, delimter: ";" }
safety:
  maxDeactivatePercnt: 5
targets:
  "slack app":
    url: https://slack.example.com/scim/v2
    auth: { type: none }
  slack:
    url: https://slack.example.com/scim/v2
    auth: { type: none }
    pagesize: 50
    groups:
      nestd: flatten
    zebra:
      stripes: 3
`,
    );
    expect(found.sort()).toEqual(
      [
        'source.delimter (line 2): unknown key; did you mean delimiter?',
        'safety.maxDeactivatePercnt (line 4): unknown key; did you mean maxDeactivatePercent?',
        'targets.slack app (line 6): target names use letters, digits, "-" and "_"',
        'targets.slack.pagesize (line 12): unknown key; did you mean pageSize?',
        'targets.slack.groups.nestd (line 14): unknown key; did you mean nested?',
        'targets.slack.zebra (line 15): unknown key',
      ].sort(),
    );
  });

  it('names the YAML syntax error line', () => {
    const found = problems('source: {type: csv\ntargets: [');
    expect(found.length).toBeGreaterThan(0);
    for (const p of found) expect(p).toMatch(/^line 2: /);
  });

  it('warns about a credential written inline and about plain http', () => {
    const loaded = parseConfig(base.replace('"${env:SLACK_TOKEN}"', 'literal-token-value').replace('https://api.slack', 'http://api.slack'), '/x/org.yaml', {});
    expect(loaded.warnings.join('\n')).toMatch(/targets\.slack\.auth\.token: credential written inline/);
    expect(loaded.warnings.join('\n')).toMatch(/targets\.slack\.url: plain http/);
  });

  it('checks mapping templates and scope regexes', () => {
    const loaded = parseConfig(
      `${base}    mapping:
      userName: "{email | shout}"
      active: "{status}"
    scope:
      - department: { matches: "([" }
`,
      '/x/org.yaml',
      { SLACK_TOKEN: 'xoxp-token-for-mappings' },
    );
    expect(() => checkMappings(loaded.config)).toThrow(ConfigError);
    try {
      checkMappings(loaded.config);
    } catch (error) {
      const p = (error as ConfigError).problems.join('\n');
      expect(p).toContain('targets.slack.mapping.userName: unknown function "shout"');
      expect(p).toContain('targets.slack.mapping.active: managed by scim-sync itself');
      expect(p).toContain('targets.slack.scope[0].department.matches:');
    }
  });
});
