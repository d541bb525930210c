/**
 * Redis going away (or no longer answering) under the commands that end: `run --wait` stops waiting
 * at its --wait-timeout or on Ctrl-C whatever Redis does, and `status` gives up on a Redis that does
 * not answer, each with an error naming Redis. A private redis-server each (never the shared one);
 * `run` as a real process, since what is tested is that the process ends.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { connectRedis } from '../../src/state/redis-connection.js';
import { Harness, person, TOKEN } from '../support/harness.js';
import { PrivateRedis, logMessage, queueYaml, randomPrefix, waitUntil } from '../support/distributed.js';

const BIN = fileURLToPath(new URL('../../bin/scim-sync.js', import.meta.url));
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function cliProcess(...args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, TEST_SCIM_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
    const t0 = Date.now();
    child.once('exit', (code) => resolve({ code, ms: Date.now() - t0 }));
  });
  cleanups.push(() => (child.exitCode === null && child.signalCode === null ? child.kill('SIGKILL') : undefined));
  return { child, exited, out: () => out, err: () => err, lines: () => err.split('\n').filter(Boolean).map(logMessage) };
}

/** Ends with `exited`, or fails after `ms` (the defect: a process that never ends). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** A cycle of 3 creates enqueued by `run --wait` (no worker), then Redis stopped under the waiting run. */
async function waitingRunWithRedisGone(...args: string[]) {
  const redis = await PrivateRedis.start({ persistent: false });
  cleanups.push(() => redis.close());
  const prefix = randomPrefix();
  const h = await Harness.start({ top: queueYaml(prefix, redis.url) });
  cleanups.push(() => h.close());
  h.writePeople([person(1), person(2), person(3)]);
  const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const run = cliProcess('run', '--config', h.configFile, '--wait', '--progress-every', '200ms', ...args);
  // Enqueued: the first phase job is on the control queue (the last thing the enqueue writes).
  await waitUntil(async () => (await probe.keys(`${prefix}:control:*_app_p0`)).length > 0, 'the cycle to be enqueued', 30_000);
  probe.disconnect();
  await redis.down();
  await waitUntil(() => run.lines().some((l) => /^Redis 127\.0\.0\.1:\d+: connection lost/.test(l)), 'the run to notice Redis is gone', 10_000);
  return { run, h };
}

it('run --wait --wait-timeout: Redis gone after the enqueue, the wait still ends at the timeout (exit 1), saying Redis does not answer', async () => {
  const { run } = await waitingRunWithRedisGone('--wait-timeout', '4s');
  const { code } = await within(run.exited, 20_000, 'run --wait-timeout 4s with Redis down');
  expect(code, run.err()).toBe(1);
  // What the run would record after the report cannot be, and it says so after the report.
  expect(run.err()).toMatch(/error: \[STATE\] Redis 127\.0\.0\.1:\d+ did not answer while recording what cycle plan-[0-9a-f-]+ decided \(holds, rejections, quarantine\): the connection was lost/);
  expect(run.out()).toMatch(/still running after 4 s of waiting \(Redis 127\.0\.0\.1:\d+ not answering for the last \d+ s\)/);
  const lines = run.lines();
  expect(lines.some((l) => /^Redis 127\.0\.0\.1:\d+ does not answer while waiting for target app \(cycle plan-[0-9a-f-]+\): .*still waiting for it until --wait-timeout/.test(l)), lines.join('\n')).toBe(true);
  // Progress says what the run waits for, not the listing it finished long before.
  const progress = lines.filter((l) => l.startsWith('progress: '));
  expect(progress.some((l) => /^progress: app: waiting for the workers, 0\/3 done \(0%\), .* so far; Redis not answering for \d+ s$/.test(l)), progress.join('\n')).toBe(true);
  const waiting = progress.findIndex((l) => /waiting for the workers/.test(l));
  expect(progress.slice(waiting).filter((l) => /listing/.test(l))).toEqual([]);
}, 90_000);

it('run --wait: Redis gone after the enqueue, Ctrl-C still stops the wait (exit 130)', async () => {
  const { run } = await waitingRunWithRedisGone();
  run.child.kill('SIGINT');
  const { code, ms } = await within(run.exited, 20_000, 'run --wait after SIGINT with Redis down');
  expect(code, run.err()).toBe(130);
  expect(ms).toBeLessThan(10_000);
  expect(run.out()).toContain('still running when waiting was interrupted');
}, 90_000);

it('status against a Redis that accepts connections but answers nothing: an error naming Redis within its connect timeout (10 s), not a hang', async () => {
  const redis = await PrivateRedis.start({ persistent: false });
  cleanups.push(() => redis.close());
  const h = await Harness.start({ top: queueYaml(randomPrefix(), redis.url) });
  cleanups.push(() => h.close());
  const pauser = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  cleanups.push(() => pauser.disconnect());
  await pauser.call('CLIENT', 'PAUSE', '30000', 'ALL');
  const status = cliProcess('status', '--config', h.configFile);
  const { code, ms } = await within(status.exited, 25_000, 'status against a paused Redis');
  expect(code).toBe(4);
  expect(ms).toBeLessThan(15_000);
  expect(status.err()).toMatch(/error: \[STATE\] cannot reach Redis at 127\.0\.0\.1:\d+: /);
}, 60_000);

it("a command's connection gives up on a Redis that stopped answering after it connected; a worker's waits for it", async () => {
  const redis = await PrivateRedis.start({ persistent: false });
  cleanups.push(() => redis.close());
  const url = new Secret(redis.url, 'queue.redis');
  const command = await connectRedis(url, { commandTimeoutMs: 500 });
  const worker = await connectRedis(url);
  cleanups.push(() => command.disconnect(), () => worker.disconnect());
  await command.call('CLIENT', 'PAUSE', '2000', 'ALL');
  const t0 = Date.now();
  await expect(command.get('anything')).rejects.toThrow('Command timed out');
  expect(Date.now() - t0).toBeLessThan(1_900);
  // The worker's command is answered once the pause ends.
  expect(await worker.set('k', 'v')).toBe('OK');
  expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
}, 30_000);
