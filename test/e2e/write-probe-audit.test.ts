/**
 * `check --write-probe` writes to a real app: every write it sends is in the provisioning log, as a
 * run's are (who, what, the probe's id and userName, the outcome, values through the redactor), a
 * probe left in the target is there with its failure, and a log that cannot be written stops the
 * probe before its first write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, TOKEN } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const PROBE = /^scim-sync-probe\+([0-9a-f]{8})@invalid\.example$/;
const probeRecords = () => h.audit().filter((r) => String(r['action']).startsWith('probe.'));

describe('check --write-probe in the audit log', () => {
  it('records each write with who, what, the probe and the outcome; values redacted as a run\'s; no token', async () => {
    h = await Harness.start({ top: 'audit: { redactAttributes: [department] }' });
    const r = await h.cli('check', '--config', h.configFile, '--write-probe');
    expect(r.code, r.err + r.out).toBe(0);
    const records = probeRecords();
    expect(records.map((a) => `${String(a['action'])} ${String(a['outcome'])}`)).toEqual([
      'probe.start info',
      'probe.create ok',
      'probe.patch ok',
      'probe.patch ok',
      'probe.delete ok',
    ]);
    const userName = String(records[0]!['label']);
    const [, token] = PROBE.exec(userName)!;
    const id = h.writes().find((q) => q.method === 'DELETE')!.path.replace('/Users/', '');
    for (const a of records) {
      expect(a).toMatchObject({ target: 'app', label: userName, externalId: `scim-sync-probe-${token}`, initiator: 'cli' });
      expect(a['by']).toMatch(/.@./);
      expect(a['cycleId']).toMatch(/^check-/);
      expect(a['cycleId']).toBe(records[0]!['cycleId']);
    }
    for (const a of records.slice(1)) expect(a['scimId']).toBe(id);
    const [manager, department] = records.filter((a) => a['action'] === 'probe.patch');
    expect(manager!['modifiedProperties']).toEqual([{ path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value', from: null, to: id }]);
    expect(department!['modifiedProperties']).toEqual([{ path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', from: '[redacted]', to: '[redacted]' }]);
    expect(department!['note']).toBe('patchShape rfc');
    expect(readFileSync(join(h.dir, 'state', 'audit.jsonl'), 'utf8')).not.toContain(TOKEN);
  });

  it('a probe left in the target is in the log with the failure that stopped it, and `log --user` finds it', async () => {
    h = await Harness.start({ target: '    retries: 1' });
    h.sandbox.addFault({ method: 'PATCH', path: '/Users/', times: Infinity, action: { type: 'status', status: 503 } });
    h.sandbox.addFault({ method: 'DELETE', path: '/Users/', times: Infinity, action: { type: 'status', status: 500 } });
    const r = await h.cli('check', '--config', h.configFile, '--write-probe');
    expect(r.code).toBe(1);
    const [probe] = h.sandbox.store.users().filter((u) => PROBE.test(String(u['userName'])));
    const records = probeRecords();
    expect(records.map((a) => `${String(a['action'])} ${String(a['outcome'])}`)).toEqual([
      'probe.start info',
      'probe.create ok',
      'probe.patch failed',
      'probe.delete failed',
      'probe.deactivate failed',
      'probe.left failed',
    ]);
    expect(records.find((a) => a['action'] === 'probe.patch')).toMatchObject({ status: 503, error: { code: 'TRANSIENT' } });
    expect(records.find((a) => a['action'] === 'probe.deactivate')).toMatchObject({ modifiedProperties: [{ path: 'active', from: true, to: false }], status: 503 });
    const left = records.at(-1)!;
    expect(left).toMatchObject({ label: probe!['userName'], scimId: probe!['id'], error: { code: 'TRANSIENT' } });
    expect(Object.keys(left['error'] as object)).toEqual(['code', 'message']);
    expect(String(left['note'])).toMatch(/^still in the target, remove it by hand: could not delete it \(the DELETE failed: .*\) nor deactivate it/);
    const found = await h.cli('log', '--config', h.configFile, '--user', String(probe!['userName']), '--status', 'failed', '--json');
    expect(found.out.trim().split('\n').map((l) => (JSON.parse(l) as { action: string }).action)).toEqual(['probe.patch', 'probe.delete', 'probe.deactivate', 'probe.left']);
  });

  it('a log that cannot be written stops the probe before its first write: exit 4, the log named', async () => {
    h = await Harness.start({ top: 'audit: { file: /dev/full }' });
    const full = await h.cli('check', '--config', h.configFile, '--write-probe');
    expect(full.code).toBe(4);
    expect(full.err).toContain('cannot write the audit log /dev/full');
    // Something in the way of the log's directory: the log cannot even be opened.
    writeFileSync(join(h.dir, 'blocked'), '');
    h.top = 'audit: { file: blocked/audit.jsonl }';
    h.writeConfig();
    const blocked = await h.cli('check', '--config', h.configFile, '--write-probe');
    expect(blocked.code).toBe(4);
    expect(blocked.err).toContain('audit log');
    expect(h.writes()).toEqual([]);
    // Without the probe nothing is written, so check needs no log.
    expect((await h.cli('check', '--config', h.configFile)).code).toBe(0);
  });
});
