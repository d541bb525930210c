/**
 * Each operation's record in the provisioning log tells its story step by step: what the source
 * said, the scope, how the account was matched, the action, and how the export ended.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit-sink.js';
import { Harness, person } from '../support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start({ target: '    scope:\n      - department: { in: [Eng] }\n    adopt: userName' });
});
afterEach(async () => {
  await h.close();
});

const records = (action: string, externalId: string): AuditRecord[] =>
  readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord)
    .filter((r) => r.action === action && r.externalId === externalId);

it('create, update by link, adoption by userName, out of scope and gone from the source: each record says why and how', async () => {
  h.writePeople([person(1), person(2), person(3), person(4)]);
  expect((await h.run()).code).toBe(0);
  expect(records('createUser', 'E1001').at(-1)!.steps).toEqual([
    { step: 'source', detail: 'in the source' },
    { step: 'scope', detail: 'in scope' },
    { step: 'match', detail: 'no account: a new one' },
    { step: 'action', detail: 'createUser' },
    { step: 'export', detail: 'done', outcome: 'ok' },
  ]);

  // A hand-made account that person 5 adopts by userName; person 2 changes title; person 3 leaves
  // the scope; person 4 leaves the source.
  h.sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'user5@example.com', active: true });
  h.writePeople([person(1), person(2, { title: 'Lead' }), person(3, { department: 'Sales' }), person(5)]);
  expect((await h.run()).code, 'second run').toBe(0);
  const step = (r: AuditRecord | undefined, name: string) => r?.steps?.find((s) => s.step === name)?.detail;
  expect(step(records('updateUser', 'E1002').at(-1), 'match')).toBe('linked account (link store)');
  expect(step(records('updateUser', 'E1005').at(-1), 'match')).toBe('unlinked account with the same userName, adopted (adopt: userName)');
  const outOfScope = records('deprovisionUser', 'E1003').at(-1)!;
  expect([step(outOfScope, 'source'), step(outOfScope, 'scope'), step(outOfScope, 'match')]).toEqual(['in the source', "out of this target's scope", 'linked account (link store)']);
  const gone = records('deprovisionUser', 'E1004').at(-1)!;
  expect(gone.steps!.map((s) => s.step)).toEqual(['source', 'match', 'action', 'export']);
  expect(step(gone, 'source')).toBe('gone from the source');
  expect(gone.steps!.at(-1)).toEqual({ step: 'export', detail: 'done', outcome: 'ok' });
});

it('a failed export carries the server reason in its last step', async () => {
  h.writePeople([person(1)]);
  h.sandbox.addFault({ method: 'POST', path: '/Users', times: 1, action: { type: 'status', status: 400, detail: 'title is not allowed here' } });
  expect((await h.run()).code).toBe(1);
  const last = records('createUser', 'E1001').at(-1)!.steps!.at(-1)!;
  expect(last.outcome).toBe('failed');
  expect(last.detail).toContain('title is not allowed here');
});
