/**
 * Distributed mode's config block (defaults, validation, the Redis URL as a secret) and its state in a
 * real Redis: the link store and the per-target cycle locks.
 */
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { LockedError, StateError } from '../../src/errors.js';
import { redisKeys } from '../../src/state/redis-keys.js';
import { RedisLinkStore } from '../../src/state/redis-link-store.js';
import { HELD_TTL_MS, acquireTargetLocks, readLock, releaseLock } from '../../src/state/redis-run-lock.js';
import { Harness } from '../support/harness.js';
import { REDIS_URL, cleanRedis, freePort, randomPrefix } from '../support/distributed.js';
import { configProblems } from '../support/config-problems.js';

const base = `
source: { type: csv, path: people.csv, key: id }
targets:
  app:
    url: https://app.example/scim/v2
    auth: { type: none }
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  return configProblems(() => parseConfig(text, '/etc/scim-sync/org.yaml', env));
}

describe('config', () => {
  it('has documented defaults, and keeps a Redis password out of every printable form', () => {
    const loaded = parseConfig(`${base}queue:\n  redis: "\${env:REDIS_URL}"\n`, '/etc/scim-sync/org.yaml', { REDIS_URL: 'redis://:hunter2-redis@10.0.0.5:6380/2' });
    const q = loaded.config.queue!;
    expect(q.redis.reveal()).toBe('redis://:hunter2-redis@10.0.0.5:6380/2');
    expect(q).toMatchObject({ prefix: 'scim-sync', lockDurationMs: 30_000, stalledIntervalMs: 30_000, cycleLockMs: 600_000, retentionHours: 24 });
    expect(JSON.stringify(loaded.config) + inspect(loaded.config, { depth: 10 })).not.toContain('hunter2-redis');
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config.schedule).toBeUndefined();
  });

  it('warns about a password written inline, not about a URL without one', () => {
    const inline = parseConfig(`${base}queue:\n  redis: redis://:hunter2-inline@127.0.0.1:6379\n`, '/etc/org.yaml', {});
    expect(inline.warnings).toEqual(['queue.redis: credential written inline; prefer ${env:NAME} or ${file:path}']);
    expect(parseConfig(`${base}queue:\n  redis: redis://127.0.0.1:6379\n`, '/etc/org.yaml', {}).warnings).toEqual([]);
  });

  it('reports wrong distributed-mode settings with their path and line', () => {
    const found = problems(
      `${base}    rateLimit: { requests: 10 }
queue:
  redis: redis://127.0.0.1:6379
  prefix: "a:b"
schedule:
  cron: "every half hour"
  jitterMs: -1
  timezone: Mars/Olympus
`,
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^targets\.app\.rateLimit\.perMs \(line 7\): /),
        expect.stringMatching(/^queue\.prefix \(line 10\): letters, digits, "\.", "-" and "_" \(no ":"\)/),
        expect.stringMatching(/^schedule\.cron \(line 12\): not a cron expression/),
        expect.stringMatching(/^schedule\.jitterMs \(line 13\): /),
        expect.stringMatching(/^schedule\.timezone \(line 14\): not an IANA time zone/),
      ]),
    );
    // A schedule without queue is the embedded service's (`serve`); `scim-sync schedule` refuses it (distributed mode only).
    expect(problems(`${base}schedule:\n  cron: "*/30 * * * *"\n`)).toEqual([]);
  });
});

describe('commands', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
    h.writePeople([]);
  });
  afterAll(async () => {
    await h.close();
  });

  it('worker, schedule, status and retry need distributed mode: exit 2', async () => {
    for (const command of ['worker', 'schedule', 'status', 'retry']) {
      const r = await h.cli(command, '--config', h.configFile);
      expect(r.code, command).toBe(2);
      expect(r.err).toContain(`\`${command}\` needs distributed mode: set queue.redis`);
    }
  });

  it('an unreachable Redis: exit 4, nothing written, and its password never shown', async () => {
    const port = await freePort();
    h.top = `queue:\n  redis: "\${env:TEST_REDIS_URL}"\n`;
    h.writeConfig();
    process.env['TEST_REDIS_URL'] = `redis://:pa55-for-redis@127.0.0.1:${port}`;
    try {
      const r = await h.run('--wait');
      expect(r.code).toBe(4);
      expect(r.err).toContain(`cannot reach Redis at 127.0.0.1:${port}`);
      expect(r.err).toContain('Nothing was written.');
      expect(r.out + r.err).not.toContain('pa55-for-redis');
      const status = await h.cli('status', '--config', h.configFile);
      expect(status.code).toBe(4);
      expect(status.out + status.err).not.toContain('pa55-for-redis');
    } finally {
      delete process.env['TEST_REDIS_URL'];
      h.top = '';
    }
  });
});

describe('state in Redis', () => {
  let redis: Redis;
  let prefix: string;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    prefix = randomPrefix();
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanRedis(prefix);
  });

  it('the link store keeps one hash per target and kind, and lists it in full past one scan page', async () => {
    const links = new RedisLinkStore(redis, prefix);
    for (let i = 0; i < 2500; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => links.set('app', 'user', `E${i + j}`, { id: `id-${i + j}`, hash: `h${i + j}` })));
    }
    await links.set('other', 'user', 'E1', { id: 'x', hash: 'y' });
    expect(await links.get('app', 'user', 'E7')).toEqual({ id: 'id-7', hash: 'h7' });
    await links.delete('app', 'user', 'E7');
    expect(await links.get('app', 'user', 'E7')).toBeUndefined();
    const all = await links.snapshot('app', 'user');
    expect(all.size).toBe(2499);
    expect(all.get('E2499')).toEqual({ id: 'id-2499', hash: 'h2499' });
    expect(await redis.hlen(redisKeys(prefix).links('app', 'user'))).toBe(2499);
    expect((await links.snapshot('app', 'group')).size).toBe(0);
    await redis.hset(redisKeys(prefix).links('app', 'user'), 'E9', 'not json');
    await expect(links.get('app', 'user', 'E9')).rejects.toBeInstanceOf(StateError);
  });

  it('a target lock is held by one token at a time, renewed, handed off, and released only by its token', async () => {
    const first = await acquireTargetLocks(redis, prefix, ['a', 'b'], { token: 'tok-1' });
    expect(first.locks.targets).toEqual(['a', 'b']);
    const ttl = await redis.pttl(redisKeys(prefix).lock('a'));
    expect(ttl).toBeGreaterThan(HELD_TTL_MS - 5000);

    // Busy: the whole acquisition fails and releases what it took.
    await expect(acquireTargetLocks(redis, prefix, ['c', 'b'], { token: 'tok-2' })).rejects.toThrow(LockedError);
    await expect(acquireTargetLocks(redis, prefix, ['c', 'b'], { token: 'tok-2' })).rejects.toThrow(/target b is locked by another cycle \(tok-1/);
    expect(await readLock(redis, prefix, 'c')).toBeNull();
    // The scheduler's way: take what is free, report the rest.
    const partial = await acquireTargetLocks(redis, prefix, ['c', 'b'], { token: 'tok-2', skipBusy: true });
    expect(partial.locks.targets).toEqual(['c']);
    expect(partial.busy.map((b) => [b.target, b.holder])).toEqual([['b', 'tok-1']]);
    await partial.locks.release();
    // The same token again (a retried scheduler job): re-entrant.
    const again = await acquireTargetLocks(redis, prefix, ['a'], { token: 'tok-1' });
    expect(again.locks.targets).toEqual(['a']);

    // Handed off: it lives as long as the cycle lock, and release() leaves it to the cycle.
    await first.locks.handOff('a', 120_000);
    expect(await redis.pttl(redisKeys(prefix).lock('a'))).toBeGreaterThan(HELD_TTL_MS + 60_000);
    await first.locks.release();
    expect((await readLock(redis, prefix, 'a'))?.token).toBe('tok-1');
    expect(await readLock(redis, prefix, 'b')).toBeNull();
    // Only its token releases it (compare-and-delete).
    expect(await releaseLock(redis, prefix, 'a', 'tok-someone-else')).toBe(false);
    expect(await releaseLock(redis, prefix, 'a', 'tok-1')).toBe(true);
    expect(await readLock(redis, prefix, 'a')).toBeNull();
  });
});
