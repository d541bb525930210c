/**
 * The safety window rebuilt from the provisioning log after a restart: what change-driven batches
 * applied within it counts again, creates and re-activations among it, and nothing else does (a
 * full cycle's writes, a failed write, a record older than the window).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { windowFromLog } from '../../src/service/change-window.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('counts the creates and re-activations events made, as the live window does', async () => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-window-'));
  const now = new Date('2026-12-01T10:00:00Z');
  const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
  const record = (over: Record<string, unknown>) => JSON.stringify({ planId: 'p', target: 'app', initiator: 'event', outcome: 'ok', time: at(5), ...over });
  const file = join(dir, 'audit.jsonl');
  writeFileSync(
    file,
    [
      record({ action: 'createUser', externalId: 'E1' }),
      record({ action: 'createUser', externalId: 'E2', outcome: 'partial' }),
      record({ action: 'updateUser', externalId: 'E3', changed: ['active'], modifiedProperties: [{ path: 'active', from: false, to: true }] }),
      // Not counted: a deactivation by update, a full cycle's create, a failed one, one older than the window; another target's counts for it.
      record({ action: 'updateUser', externalId: 'E4', changed: ['active'], modifiedProperties: [{ path: 'active', from: true, to: false }] }),
      record({ action: 'createUser', externalId: 'E5', initiator: 'schedule' }),
      record({ action: 'createUser', externalId: 'E6', outcome: 'failed' }),
      record({ action: 'createUser', externalId: 'E7', time: at(61) }),
      record({ action: 'createUser', externalId: 'E8', target: 'crm' }),
    ].join('\n') + '\n',
  );
  const window = await windowFromLog(file, 60 * 60_000, () => undefined, now);
  const recent = window.recent(now);
  expect(Object.fromEntries(recent.creates)).toEqual({ app: 3, crm: 1 });
  expect(Object.fromEntries(recent.attributes.get('app') ?? [])).toEqual({ active: 2 });
});

it('counts linked accounts made again as re-creates, not creates, as the live window does', async () => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-window-'));
  const now = new Date('2026-12-01T10:00:00Z');
  const record = (over: Record<string, unknown>) => JSON.stringify({ planId: 'p', target: 'app', initiator: 'event', outcome: 'ok', time: new Date(now.getTime() - 60_000).toISOString(), ...over });
  const file = join(dir, 'audit.jsonl');
  writeFileSync(
    file,
    [
      record({ action: 'createUser', externalId: 'E1', recreated: true }),
      record({ action: 'updateUser', externalId: 'E2', recreated: true, changed: ['title'], modifiedProperties: [{ path: 'title', from: 'A', to: 'B' }] }),
      record({ action: 'createUser', externalId: 'E3' }),
      // Not counted: a re-create that failed, and a full cycle's.
      record({ action: 'createUser', externalId: 'E4', recreated: true, outcome: 'failed' }),
      record({ action: 'createUser', externalId: 'E5', recreated: true, initiator: 'schedule' }),
    ].join('\n') + '\n',
  );
  const recent = (await windowFromLog(file, 60 * 60_000, () => undefined, now)).recent(now);
  expect(Object.fromEntries(recent.recreates)).toEqual({ app: 2 });
  expect(Object.fromEntries(recent.creates)).toEqual({ app: 1 });
  expect(Object.fromEntries(recent.attributes.get('app') ?? [])).toEqual({ title: 1 });
});
