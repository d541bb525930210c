/** Quirk profiles as data, their resolution, the config keys that select them, and PATCH shapes. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { targetSettings } from '../../src/execution/target-runtime.js';
import { DEFAULT_CAPABILITIES } from '../../src/targets/http/capabilities.js';
import { attributeKey, distinctShapes, shapePatch } from '../../src/targets/patch-shape.js';
import { PROFILE_NAMES, resolveQuirks } from '../../src/config/profiles.js';
import { SANDBOX_PROFILE_NAMES } from '../../src/sandbox/index.js';
import { configProblems } from '../support/config-problems.js';

const config = (target: string, env: NodeJS.ProcessEnv = { T: 'token-abcdef' }) =>
  parseConfig(
    `source: { type: csv, path: people.csv, key: id }
targets:
  app:
    url: https://scim.example/v2
${target}
`,
    '/etc/scim-sync/org.yaml',
    env,
  );

function problems(target: string, env?: NodeJS.ProcessEnv): string[] {
  return configProblems(() => config(target, env));
}

it('the sandbox acts every profile the client knows, under the same names', () => {
  expect([...SANDBOX_PROFILE_NAMES]).toEqual([...PROFILE_NAMES]);
});

describe('profiles', () => {
  it('generic is the RFC as written; every profile only states differences', () => {
    expect(resolveQuirks('generic')).toMatchObject({ maxMembersPerPatch: null, groupMembersInList: true, maxPageSize: null, etag: 'auto', rateLimit: null });
    expect(resolveQuirks('aws')).toMatchObject({ maxMembersPerPatch: 100, groupMembersInList: false, maxPageSize: 100, filterOperators: ['eq', 'and'], etag: 'off' });
    expect(resolveQuirks('slack').rateLimit).toEqual({ requests: 600, perMs: 60_000 });
    expect(resolveQuirks('github')).toMatchObject({ createRateLimit: { requests: 1000, perMs: 3_600_000 }, headers: { 'user-agent': 'scim-sync/0.1' } });
    for (const name of PROFILE_NAMES) expect(resolveQuirks(name).filterOperators).toContain('eq');
  });

  it('quirks override key by key; headers merge over the profile\'s (names ignore case)', () => {
    const q = resolveQuirks('aws', { maxPageSize: 50, headers: { 'X-Tenant': 'acme', 'User-Agent': 'mine' } });
    expect(q.maxPageSize).toBe(50);
    expect(q.maxMembersPerPatch).toBe(100);
    expect(resolveQuirks('github', { headers: { 'User-Agent': 'mine' } }).headers).toEqual({ 'user-agent': 'mine', accept: 'application/scim+json' });
    expect(q.headers).toEqual({ 'x-tenant': 'acme', 'user-agent': 'mine' });
    expect(resolveQuirks('slack', { rateLimit: null }).rateLimit).toBeNull();
  });

  it('settings from config, profile and discovery: no DELETE means deactivate; ETags only when discovered and not off', () => {
    const loaded = config('    auth: { type: none }\n    profile: aws\n    deprovision: delete\n    quirks: { supportsDelete: false }');
    expect(loaded.warnings.some((w) => w.includes('targets.app.deprovision: delete, but this server has no DELETE'))).toBe(true);
    const app = loaded.config.targets['app']!;
    expect(targetSettings(app, { ...DEFAULT_CAPABILITIES, etag: true })).toMatchObject({ deprovision: 'deactivate', useEtags: false, updateMethod: 'patch' });
    const generic = config('    auth: { type: none }').config.targets['app']!;
    expect(targetSettings(generic, { ...DEFAULT_CAPABILITIES, etag: true, patch: false })).toMatchObject({ useEtags: true, updateMethod: 'put' });
  });
});

describe('config keys', () => {
  it('oauth2, header and tls are validated; secrets wrapped; tls paths resolved against the config file', () => {
    const loaded = config(
      '    auth: { type: oauth2, tokenUrl: "https://login.example/token", clientId: scim, clientSecret: "${env:T}", scope: "scim" }\n' +
        '    tls: { ca: certs/ca.pem, cert: /abs/client.pem, key: certs/client.key }\n    rateLimit: { requests: 10, perMs: 1000 }',
    );
    const app = loaded.config.targets['app']!;
    expect(app.auth.type === 'oauth2' && app.auth.clientSecret.reveal()).toBe('token-abcdef');
    expect(app.tls).toEqual({ ca: '/etc/scim-sync/certs/ca.pem', cert: '/abs/client.pem', key: '/etc/scim-sync/certs/client.key' });
    expect(app.rateLimit).toEqual({ requests: 10, perMs: 1000 });
    const header = config('    auth: { type: header, name: X-Api-Key, token: "${env:T}" }').config.targets['app']!;
    expect(header.auth.type === 'header' && header.auth.token.reveal()).toBe('token-abcdef');
    expect(JSON.stringify(header)).not.toContain('token-abcdef');
  });

  it('reports wrong values with their path', () => {
    expect(problems('    auth: { type: none }\n    profile: okta')[0]).toMatch(/^targets\.app\.profile \(line 6\): /);
    expect(problems('    auth: { type: none }\n    tls: { cert: c.pem }')[0]).toMatch(/^targets\.app\.tls.*give both cert and key, or neither/);
    expect(problems('    auth: { type: none }\n    rateLimit: { requests: 0, perMs: 1000 }')[0]).toMatch(/^targets\.app\.rateLimit\.requests/);
    expect(problems('    auth: { type: none }\n    quirks: { filterOperators: [eq, regex] }')[0]).toMatch(/^targets\.app\.quirks\.filterOperators\[1\]/);
    expect(problems('    auth: { type: none }\n    quirks: { maxPagesize: 10 }')[0]).toMatch(/^targets\.app\.quirks.*maxPagesize/);
    expect(problems('    auth: { type: header, name: "X Api", token: "${env:T}" }')[0]).toMatch(/^targets\.app\.auth\.name/);
  });
});

describe('PATCH shapes', () => {
  const ops = [
    { op: 'replace' as const, path: 'title', value: 'CTO' },
    { op: 'replace' as const, path: 'name.givenName', value: 'Ada' },
    { op: 'replace' as const, path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'R&D' },
    { op: 'replace' as const, path: 'emails[type eq "work"].value', value: 'a@x.com' },
    { op: 'remove' as const, path: 'nickName' },
  ];

  it('rfc leaves operations as planned', () => {
    expect(shapePatch(ops, 'rfc')).toEqual(ops);
  });

  it('value-object folds plain replaces into one pathless operation; filtered paths and removes keep theirs', () => {
    expect(shapePatch(ops, 'value-object')).toEqual([
      {
        op: 'replace',
        value: { title: 'CTO', name: { givenName: 'Ada' }, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' } },
      },
      ops[3],
      ops[4],
    ]);
  });

  const MANAGER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager';
  const manager = { op: 'replace' as const, path: MANAGER, value: { value: 'id-9' } };

  it('sub-attribute writes the replace of a complex attribute as one replace per sub-attribute; plain values keep their path', () => {
    expect(shapePatch([manager, ops[0]!, ops[3]!], 'sub-attribute')).toEqual([{ op: 'replace', path: `${MANAGER}.value`, value: 'id-9' }, ops[0], ops[3]]);
  });

  it('a shape per attribute: each operation in the shape of its own attribute', () => {
    const shapes: Record<string, 'sub-attribute' | 'value-object'> = { [MANAGER.toLowerCase()]: 'sub-attribute', title: 'value-object' };
    expect(shapePatch([manager, ops[0]!, ops[1]!], (attribute) => shapes[attribute] ?? 'rfc')).toEqual([
      { op: 'replace', value: { title: 'CTO' } },
      { op: 'replace', path: `${MANAGER}.value`, value: 'id-9' },
      ops[1],
    ]);
  });

  it('attributeKey names the attribute a path writes, whatever its sub-attribute, filter or case', () => {
    expect(attributeKey(`${MANAGER}.value`)).toBe(MANAGER.toLowerCase());
    expect(attributeKey('enterprise:manager')).toBe(MANAGER.toLowerCase());
    expect(attributeKey('emails[type eq "work"].value')).toBe('emails');
    expect(attributeKey('Name.givenName')).toBe('name');
  });

  it('the shapes worth trying are those that write differently, the current one first', () => {
    expect(distinctShapes([manager], 'rfc')).toEqual(['rfc', 'sub-attribute', 'value-object']);
    expect(distinctShapes([ops[0]!], 'rfc')).toEqual(['rfc', 'value-object']);
    expect(distinctShapes([manager], 'value-object')).toEqual(['value-object', 'rfc', 'sub-attribute']);
    expect(distinctShapes([ops[4]!], 'rfc')).toEqual(['rfc']);
  });

  it('quirks.patchShape takes sub-attribute; anything else is refused at its path', () => {
    expect(problems('    auth: { type: bearer, token: "${env:T}" }\n    quirks: { patchShape: sub-attribute }')).toEqual([]);
    expect(problems('    auth: { type: bearer, token: "${env:T}" }\n    quirks: { patchShape: pathless }')[0]).toMatch(/^targets\.app\.quirks\.patchShape/);
  });
});
