/**
 * A worker whose config points a target at another server (or as another identity) than the
 * planner's must not write for the planner's cycle: against a real Redis and two sandboxes, the
 * cycle planned with org.yaml (server A) meets a worker with org-b.yaml (the same target name, server
 * B) and stops before its first write, naming the target and why; nothing reaches either server and
 * the shared link store keeps A's ids.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { redisKeys } from '../../src/state/redis-keys.js';
import { Harness, person, TOKEN } from '../support/harness.js';
import { REDIS_URL, cleanRedis, inProcessWorkers, queueYaml, randomPrefix } from '../support/distributed.js';

let h: Harness;
let other: Sandbox;
let prefix: string;
let redis: Redis;
let configB: string;
const people = Array.from({ length: 5 }, (_, i) => person(i + 1));

beforeEach(async () => {
  prefix = randomPrefix();
  h = await Harness.start({ top: queueYaml(prefix) });
  h.writePeople(people);
  other = await startSandbox({ token: TOKEN });
  // Beside org.yaml (same source, state and audit log): only the target's URL differs.
  configB = join(h.dir, 'org-b.yaml');
  writeFileSync(configB, readFileSync(h.configFile, 'utf8').replace(`url: ${h.sandbox.url}`, `url: ${other.url}`));
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  redis.disconnect();
  await other.close();
  await h.close();
  await cleanRedis(prefix);
});

async function links(): Promise<{ user: Record<string, string>; group: Record<string, string> }> {
  const keys = redisKeys(prefix);
  return { user: await redis.hgetall(keys.links('app', 'user')), group: await redis.hgetall(keys.links('app', 'group')) };
}

describe('a worker whose config points a target elsewhere than the planner', () => {
  it('writes nothing for the cycle: the target stops before the first write, with why; links untouched', async () => {
    const a = await inProcessWorkers(h.configFile, 'worker-a');
    try {
      const first = await h.run('--wait');
      expect(first.code, first.out + first.err).toBe(0);
    } finally {
      await a.close();
    }
    expect(h.sandbox.store.users()).toHaveLength(5);
    const before = await links();
    expect(Object.keys(before.user)).toHaveLength(5);

    // An update and a deprovision, planned with org.yaml (server A), run by a worker with org-b.yaml.
    h.writePeople(people.map((p, i) => (i === 0 ? { ...p, title: 'Manager' } : i === 4 ? { ...p, status: 'terminated' } : p)));
    h.sandbox.clearRequests();
    const b = await inProcessWorkers(configB, 'worker-b');
    let r;
    try {
      r = await h.run('--wait', '--json');
    } finally {
      await b.close();
    }
    expect(r.code, r.err).toBe(1);
    const { report } = JSON.parse(r.out) as { report: { targets: { target: string; counts: Record<string, Record<string, number>>; stopped?: string }[] } };
    const app = report.targets.find((t) => t.target === 'app')!;
    expect(app.stopped).toContain("target app: this worker's config differs from the planner's (URL/auth)");
    expect(app.stopped).toContain(`the cycle was planned for ${h.sandbox.url}`);
    expect(app.stopped).toContain(`${configB} points it at ${other.url}`);
    // Reported skipped, never done.
    for (const c of Object.values(app.counts)) expect(c.ok).toBe(0);
    expect(Object.values(app.counts).reduce((n, c) => n + (c.skipped ?? 0), 0)).toBe(2);
    expect(other.requests.filter((q) => q.method !== 'GET')).toEqual([]);
    expect(other.store.users()).toEqual([]);
    expect(h.writes()).toEqual([]);
    expect(await links()).toEqual(before);
    const planId = (JSON.parse(r.out) as { report: { planId: string } }).report.planId;
    const ops = h.audit().filter((e) => e['planId'] === planId && typeof e['changeId'] === 'string');
    expect(ops.map((e) => [e['outcome'], e['note']])).toEqual([
      ['skipped', app.stopped],
      ['skipped', app.stopped],
    ]);
  });

  it('a worker that reads its token from another reference than the planner writes nothing: at one URL for every tenant, only the token tells them apart', async () => {
    const tokenFile = join(h.dir, 'token');
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    const fromFile = join(h.dir, 'org-file.yaml');
    writeFileSync(fromFile, readFileSync(h.configFile, 'utf8').replace('"${env:TEST_SCIM_TOKEN}"', `"\${file:${tokenFile}}"`));
    expect(readFileSync(fromFile, 'utf8')).toContain('${file:');
    const w = await inProcessWorkers(fromFile, 'worker-file');
    let r;
    try {
      r = await h.run('--wait', '--json');
    } finally {
      await w.close();
    }
    expect(r.code).toBe(1);
    const { report } = JSON.parse(r.out) as { report: { targets: { stopped?: string }[] } };
    expect(report.targets[0]!.stopped).toContain('the token read from the same ${env:} or ${file:} reference');
    expect(h.sandbox.store.users()).toEqual([]);
  });
});
