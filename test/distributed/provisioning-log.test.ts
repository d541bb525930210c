/**
 * The provisioning log in distributed mode (real Redis, the sandbox, a worker in this process):
 * the `run` and the worker each append their records to this host's file of `audit.file`
 * (`{host}` in its path), and `scim-sync log` reads them as one log, the worker's records carrying
 * the initiator of their cycle.
 */
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';
import { cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';

let h: Harness;
let prefix: string;
let worker: Awaited<ReturnType<typeof inProcessWorkers>> | null = null;

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: `${queueYaml(prefix)}audit:\n  file: state/audit-{host}.jsonl\n` });
});
afterEach(async () => {
  await worker?.close();
  await h.close();
  await cleanRedis(prefix);
});

describe('distributed provisioning log', () => {
  it("the workers' records and the run's, from this host's file, read as one log", async () => {
    h.writePeople([person(1), person(2)]);
    worker = await inProcessWorkers(h.configFile);
    const r = await h.run('--wait');
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.writes().map((w) => `${w.method} ${w.path} ${w.status}`)).toEqual(['POST /Users 201', 'POST /Users 201']);
    expect(existsSync(join(h.dir, 'state', `audit-${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`))).toBe(true);
    expect(existsSync(join(h.dir, 'state', 'audit.jsonl'))).toBe(false);

    const log = await h.cli('log', '--config', h.configFile, '--json');
    expect(log.code, log.err).toBe(0);
    const records = log.out.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const cycle = records.find((x) => x['action'] === 'apply.start')!['cycleId'];
    const by = `${userInfo().username}@${hostname()}`;
    const creates = records.filter((x) => x['action'] === 'createUser');
    expect(creates.map((x) => x['externalId']).sort()).toEqual(['E1001', 'E1002']);
    for (const c of creates) {
      expect(c).toMatchObject({ cycleId: cycle, outcome: 'ok', initiator: 'cli', by, attempts: 1 });
      expect(typeof c['durationMs']).toBe('number');
    }
    expect(records.filter((x) => x['action'] === 'cycle.end')).toEqual([expect.objectContaining({ cycleId: cycle, target: 'app', initiator: 'cli' })]);
  });
});
