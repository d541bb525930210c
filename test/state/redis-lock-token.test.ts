/**
 * A distributed target lock's token: who took it, and where its pid means something. A pid is looked
 * at only in the PID space the token names (this hostname, boot and PID namespace, as a digest);
 * anywhere else, and for tokens that name none, the holder is unknown and the lock's TTL tells
 * whether someone still renews it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HELD_TTL_MS, lockRenewal, lockTokenAlive, lockTokenHolder, newLockToken } from '../../src/state/redis-run-lock.js';
import { pidSpace } from '../support/pid-space.js';

/** Above the kernel's largest pid (2^22): a process that cannot exist. */
const DEAD_PID = 2 ** 22 + 17;
/** The digest a token must carry here: what another version of scim-sync on this host computes too. */
const ourDigest = createHash('sha256')
  .update(`${pidSpace.pidns ?? ''}\n${pidSpace.boot ?? ''}`)
  .digest('hex')
  .slice(0, 8);
const host = lockTokenHolder(newLockToken('run'))!.host;

describe('lock tokens', () => {
  it('name the kind, host, pid, PID space (a digest: no boot id shown) and a random part', () => {
    const token = newLockToken('run');
    expect(token).toMatch(new RegExp(`^run-${host.replace(/\./g, '\\.')}-${process.pid}\\.${ourDigest}-[0-9a-f]{8}$`));
    if (pidSpace.boot) expect(token).not.toContain(pidSpace.boot);
    expect(lockTokenHolder(token)).toEqual({ host, pid: process.pid, space: ourDigest });
    expect(newLockToken('run')).not.toBe(token);
  });

  it('are read in both forms, hosts with dashes and dots included; others are not a holder', () => {
    expect(lockTokenHolder('run-web-1.example.com-4242.0badf00d-0123abcd')).toEqual({ host: 'web-1.example.com', pid: 4242, space: '0badf00d' });
    expect(lockTokenHolder('run-web-1.example.com-4242-0123abcd')).toEqual({ host: 'web-1.example.com', pid: 4242 });
    expect(lockTokenHolder('schedule-repeat-abc-1700000000000')).toBeNull();
  });

  it("judge a pid only in this PID space; a twin host's, another host's, an older version's or a scheduled cycle's holder is unknown", () => {
    expect(lockTokenAlive(newLockToken('run'))).toBe('alive');
    expect(lockTokenAlive(`run-${host}-${DEAD_PID}.${ourDigest}-0123abcd`)).toBe('dead');
    const other = ourDigest === '0badf00d' ? '0badf00e' : '0badf00d';
    expect(lockTokenAlive(`run-${host}-${DEAD_PID}.${other}-0123abcd`)).toBe('unknown');
    expect(lockTokenAlive(`run-${host}-${process.pid}.${other}-0123abcd`)).toBe('unknown');
    expect(lockTokenAlive(`run-${host}-${DEAD_PID}-0123abcd`)).toBe('unknown');
    expect(lockTokenAlive(`run-${host}-${process.pid}-0123abcd`)).toBe('unknown');
    expect(lockTokenAlive(`run-elsewhere-${DEAD_PID}.${ourDigest}-0123abcd`)).toBe('unknown');
    expect(lockTokenAlive('schedule-repeat-abc-1700000000000')).toBe('unknown');
  });
});

describe("a lock's TTL", () => {
  it('kept by its taker stays above two thirds of HELD_TTL_MS; two renewals missed, or no TTL, is lapsed; above HELD_TTL_MS it was handed to its cycle', () => {
    expect(lockRenewal(HELD_TTL_MS)).toBe('renewed');
    expect(lockRenewal((HELD_TTL_MS * 2) / 3)).toBe('renewed');
    expect(lockRenewal(HELD_TTL_MS / 3 + 1)).toBe('renewed');
    expect(lockRenewal(HELD_TTL_MS / 3)).toBe('lapsed');
    expect(lockRenewal(1)).toBe('lapsed');
    expect(lockRenewal(-1)).toBe('lapsed');
    expect(lockRenewal(HELD_TTL_MS + 1)).toBe('handed-off');
    expect(lockRenewal(600_000)).toBe('handed-off');
  });
});
