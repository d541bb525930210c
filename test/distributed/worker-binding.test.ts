/**
 * A worker whose config points a target at another server (or as another identity, or with another
 * secret) than the planner's must not write for the planner's cycle: against a real Redis and two
 * sandboxes, the cycle planned with org.yaml (server A) meets a worker with org-b.yaml (the same
 * target name, server B) and stops before its first write, naming the target and why; nothing
 * reaches either server and the shared link store keeps A's ids. So does a worker of another
 * installation (staging) whose org.yaml is the planner's (prod's) to the letter, its token another
 * value of the same variable, at a vendor serving every tenant at one URL.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { redisKeys } from '../../src/state/redis-keys.js';
import { editPlan, Harness, person, TOKEN } from '../support/harness.js';
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

/** One SCIM URL for two tenants, the bearer token picking the sandbox (as Slack's one SCIM URL does). */
async function tenantRouter(prod: Sandbox, staging: Sandbox, stagingToken: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const to = new URL((req.headers.authorization ?? '').includes(stagingToken) ? staging.url : prod.url);
    const forward = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: { ...req.headers, host: to.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}${new URL(prod.url).pathname}`, server };
}

/** A command run while these workers are up; they are closed after it, however it ends. */
async function whileUp(workers: Promise<{ close(): Promise<void> }>, command: () => ReturnType<Harness['cli']>): ReturnType<Harness['cli']> {
  const w = await workers;
  try {
    return await command();
  } finally {
    await w.close();
  }
}

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
    const r = await whileUp(inProcessWorkers(configB, 'worker-b'), () => h.run('--wait', '--json'));
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
    const r = await whileUp(inProcessWorkers(fromFile, 'worker-file'), () => h.run('--wait', '--json'));
    expect(r.code).toBe(1);
    const { report } = JSON.parse(r.out) as { report: { targets: { stopped?: string }[] } };
    expect(report.targets[0]!.stopped).toContain('the token read from the same ${env:} or ${file:} reference');
    expect(h.sandbox.store.users()).toEqual([]);
  });

  it("a worker of another installation (the same org.yaml and prefix, another token in the same variable) writes nothing for the planner's cycle; the planner's own worker then does", async () => {
    const stagingToken = 'staging-token-0a1b2c3d4e5f';
    const staging = await startSandbox({ token: stagingToken });
    const router = await tenantRouter(h.sandbox, staging, stagingToken);
    try {
      writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(`url: ${h.sandbox.url}`, `url: ${router.url}`));
      // Staging's worker: prod's org.yaml to the letter, staging's environment.
      const r = await whileUp(inProcessWorkers(h.configFile, 'staging-1', undefined, { TEST_SCIM_TOKEN: stagingToken }), () => h.run('--wait', '--json'));
      expect(r.code, r.err).toBe(1);
      const { report } = JSON.parse(r.out) as { report: { planId: string; targets: { counts: Record<string, Record<string, number>>; stopped?: string }[] } };
      const app = report.targets[0]!;
      expect(app.stopped).toContain("stopped before writing: target app: the workers' credential differs from the planner's");
      expect(app.stopped).toContain(`${h.configFile} on this worker gives another token for ${router.url} (bearer, token from env:TEST_SCIM_TOKEN)`);
      expect(app.stopped).not.toContain(stagingToken);
      expect(app.stopped).not.toContain(TOKEN);
      expect(Object.values(app.counts).reduce((n, c) => n + (c.skipped ?? 0), 0)).toBe(5);
      // Nothing reached either tenant; prod's links name nobody.
      expect(staging.requests.filter((q) => q.method !== 'GET')).toEqual([]);
      expect(staging.store.users()).toEqual([]);
      expect(h.writes()).toEqual([]);
      expect((await links()).user).toEqual({});
      // What the cycle carries to Redis: a digest keyed by the plan, never the token nor a plain hash of it.
      const meta = JSON.parse((await redis.hget(redisKeys(prefix).plan(report.planId, 'app'), 'meta'))!) as { binding: { credential: string } };
      expect(meta.binding.credential).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const stored = JSON.stringify(meta);
      for (const form of [TOKEN, createHash('sha256').update(TOKEN).digest('hex'), createHash('sha256').update(TOKEN).digest('base64url').slice(0, 22)]) {
        expect(stored).not.toContain(form);
      }

      const again = await whileUp(inProcessWorkers(h.configFile, 'prod-1'), () => h.run('--wait'));
      expect(again.code, again.err + again.out).toBe(0);
      expect(h.sandbox.store.users().map((u) => u['userName']).sort()).toEqual(people.map((p) => p.email).sort());
      expect(staging.store.users()).toEqual([]);
    } finally {
      await new Promise((resolve) => router.server.close(resolve));
      await staging.close();
    }
  });

  it('a plan saved before credentials were recorded still applies through the workers, bound to the credential it is applied with', async () => {
    const planFile = join(h.dir, 'plan.json');
    expect((await h.cli('plan', '--config', h.configFile, '--out', planFile)).code).toBe(0);
    editPlan(planFile, (plan) => {
      expect(plan.binding.targets['app']!.credential).toMatch(/^[A-Za-z0-9_-]{22}$/);
      delete plan.binding.targets['app']!.credential;
    });
    const r = await whileUp(inProcessWorkers(h.configFile, 'worker-a'), () => h.cli('apply', planFile, '--config', h.configFile, '--wait'));
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(5);
  });
});
