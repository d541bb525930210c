/**
 * Operations travel in chunks: how big a chunk is for a target (its concurrency and rate limit), and
 * what that saves. Redis is asked a few times per chunk, not several times per operation: counted
 * on a private redis-server (the shared one serves other tests), with the workers' background
 * chores (stalled-job checks, lock renewals) slowed to their defaults so they do not blur the count.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { chunkSize, chunksInFlight, limiterOf, operationsInJob, chunkJobId } from '../../src/execution/bullmq/queue-layout.js';
import { Harness, person } from '../support/harness.js';
import { PrivateRedis, inProcessWorkers, randomPrefix, waitUntil } from '../support/distributed.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('chunk size', () => {
  it('follows the concurrency without a rate limit: 4 operations per slot, at most 64', () => {
    expect(chunkSize(1, null)).toBe(4);
    expect(chunkSize(4, null)).toBe(16);
    expect(chunkSize(8, null)).toBe(32);
    expect(chunkSize(50, null)).toBe(64);
  });

  it('with a rate limit: at most a tenth of a window and no more than the slots; one operation under 20 requests a window', () => {
    expect(chunkSize(4, { requests: 5, perMs: 500 })).toBe(1);
    expect(chunkSize(4, { requests: 19, perMs: 1000 })).toBe(1);
    expect(chunkSize(8, { requests: 40, perMs: 1000 })).toBe(4);
    expect(chunkSize(4, { requests: 600, perMs: 60_000 })).toBe(4);
    expect(chunkSize(16, { requests: 600, perMs: 60_000 })).toBe(16);
  });

  it("the limiter counts chunks: as many operations a window as the target's rate limit", () => {
    expect(limiterOf({ requests: 600, perMs: 60_000 }, 4)).toEqual({ max: 150, duration: 60_000 });
    expect(limiterOf({ requests: 5, perMs: 500 }, 1)).toEqual({ max: 5, duration: 500 });
    expect(limiterOf(null, 32).max).toBeGreaterThan(1e6);
  });

  it('a worker holds enough chunks to fill its slots, one more without a rate limit, none waiting for a slot with one', () => {
    expect(chunksInFlight(8, 32, false)).toBe(2);
    expect(chunksInFlight(4, 16, false)).toBe(2);
    expect(chunksInFlight(8, 4, true)).toBe(2);
    expect(chunksInFlight(4, 1, true)).toBe(4);
  });

  it("a chunk's id says how many operations it holds", () => {
    expect(operationsInJob(chunkJobId('plan-1a2b', 3, 64, 32))).toBe(32);
    expect(operationsInJob(`${chunkJobId('plan-1a2b', 0, 0, 16)}/c-1`)).toBe(1);
  });
});

/** Counts the commands clients send to Redis (MONITOR; not those a script runs inside Redis), by name. */
async function countCommands(url: string): Promise<{ counts: Map<string, number>; stop: () => void }> {
  const counts = new Map<string, number>();
  const monitor = await new Redis(url).monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') counts.set(args[0]!.toLowerCase(), (counts.get(args[0]!.toLowerCase()) ?? 0) + 1);
  });
  return { counts, stop: () => monitor.disconnect() };
}

it('Redis serves well under one command per operation: a chunk shares its reads and its writes', async () => {
  const server = await PrivateRedis.start({ persistent: false });
  cleanups.push(() => server.close());
  const h = await Harness.start({ top: `queue:\n  redis: ${server.url}\n  prefix: ${randomPrefix()}\n` });
  cleanups.push(() => h.close());
  const worker = await inProcessWorkers(h.configFile);
  cleanups.push(() => worker.close());
  const cycles = () => worker.lines.filter((l) => l.startsWith('cycle ')).length;
  h.writePeople(Array.from({ length: 20 }, (_, i) => person(i + 1)));
  expect((await h.run()).code).toBe(0);
  await waitUntil(() => cycles() === 1, 'the first cycle');

  const sent = await countCommands(server.url);
  cleanups.push(async () => sent.stop());
  // 400 creates and 20 updates (a new title each: the updates read their links).
  h.writePeople(Array.from({ length: 420 }, (_, i) => person(i + 1, i < 20 ? { title: 'Lead' } : {})));
  // Every account changes: past the safety check's share of changed accounts, on purpose.
  const r = await h.run('--override-safety');
  expect(r.code, r.err + r.out).toBe(0);
  await waitUntil(() => cycles() === 2, 'the second cycle', 60_000);
  sent.stop();
  const total = [...sent.counts.values()].reduce((a, b) => a + b, 0);
  expect(h.sandbox.store.users()).toHaveLength(420);
  // Planning, enqueueing, five phases and the report cost about a hundred commands; the 420
  // operations, in 27 chunks of 16, about four a chunk: some 210 in all (0.5 per operation). With one
  // job per operation the same cycle sent some 990 (2.3 per operation).
  expect(total / 420, JSON.stringify([...sent.counts])).toBeLessThan(0.75);
}, 120_000);
