/**
 * One run at a time per state directory, so two cron runs never overlap.
 *
 * Taking the lock is atomic: the holder (pid, host, start time, a random token) is written to a temp
 * file, which is then hard-linked to run.lock; link() fails with EEXIST when run.lock exists, and a
 * reader never sees an empty or half-written lock. While it runs, the holder touches the lock's
 * mtime every HEARTBEAT_MS: its heartbeat.
 *
 * A lock whose holder is gone (holder.ts: in our PID space, the same host, boot and PID namespace,
 * its process no longer runs; from anywhere else, its heartbeat is older than STALE_AFTER_MS) is
 * taken over at once.
 * Take-overs are serialised by run.lock.takeover, created exclusively: under it the
 * lock is read again and removed only if it still holds the same stale holder, then acquisition
 * starts over, so two processes that both found the same stale lock never both hold the new one. A
 * take-over lasts milliseconds; a run.lock.takeover older than TAKEOVER_STALE_MS was left by a crash
 * and is removed. Anything else is cleared by `scim-sync unlock`.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockedError, StateError } from '../errors.js';
import { HEARTBEAT_MS, STALE_AFTER_MS, describeHolder as describe, holding, judgeHolder, newHolder, type Holder } from './holder.js';
import { ensureStateDir, explainCode } from './state-dir.js';

export interface RunLock {
  release(): Promise<void>;
}

/** A take-over marker older than this was left by a crash, ms. */
const TAKEOVER_STALE_MS = 30_000;
/** Acquisition rounds (each a link, or a take-over) before giving up on a lock that keeps changing hands. */
const MAX_ROUNDS = 50;

/** What `run.lock` says about its holder. */
export interface LockInfo {
  file: string;
  /** The file's exact content: a take-over removes the lock only if it is still this. */
  raw: string;
  /** Null when the content is not a holder (not written by this version). */
  holder: Holder | null;
  /** Milliseconds since the holder's last heartbeat. */
  heartbeatAgeMs: number;
  /** In our PID space, whether the holder's process exists; undefined elsewhere (holder.ts). */
  alive: boolean | undefined;
  /** The holder is gone, by the rules above. */
  stale: boolean;
}

const lockFile = (stateDir: string) => join(stateDir, 'run.lock');
const isCode = (error: unknown, code: string) => (error as NodeJS.ErrnoException)?.code === code;

function parseHolder(raw: string): Holder | null {
  try {
    const h = JSON.parse(raw) as Partial<Holder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return null;
    const text = (key: 'start' | 'pidns' | 'boot') => (typeof h[key] === 'string' ? { [key]: h[key] } : {});
    return { pid: h.pid, host: h.host, since: String(h.since), token: String(h.token), ...text('start'), ...text('pidns'), ...text('boot') };
  } catch {
    return null;
  }
}

/** The lock in `stateDir`, or null when there is none. */
export async function readRunLock(stateDir: string): Promise<LockInfo | null> {
  const file = lockFile(stateDir);
  let raw: string;
  let mtimeMs: number;
  try {
    [raw, mtimeMs] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtimeMs)]);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return null;
    throw new StateError(`cannot read the run lock ${file}: ${explainCode(error)}`, {}, { cause: error });
  }
  const holder = parseHolder(raw);
  const heartbeatAgeMs = Math.max(0, Date.now() - mtimeMs);
  // Not a holder this version writes (it never leaves a partial one): nobody to wait for.
  const { alive, gone } = holder ? judgeHolder(holder, heartbeatAgeMs) : { alive: undefined, gone: true };
  return { file, raw, holder, heartbeatAgeMs, alive, stale: gone };
}

/** "pid 42 on host-a since ..., last heartbeat 12 s ago" */
export function describeHolder(info: LockInfo): string {
  return info.holder ? describe(info.holder, info.heartbeatAgeMs) : 'an unreadable holder';
}

function lockedError(info: LockInfo, config: string): LockedError {
  const unlock = `scim-sync unlock --config ${config}`;
  const advice =
    info.alive === true
      ? `it is still running; wait for it to end (if that pid is not scim-sync, clear the lock with: ${unlock} --force)`
      : `a lock from another host or PID namespace (whose process cannot be looked at from here) is taken over once its heartbeat is older than ${STALE_AFTER_MS / 60_000} minutes; if that run is gone, clear it now with: ${unlock}`;
  return new LockedError(`another run holds ${info.file} (${describeHolder(info)}): ${advice}`);
}

/**
 * Removes the lock only if it still holds `seen`, under the take-over marker: `removed`, `changed`
 * (another holder is there now, or none), or `busy` (another take-over is going on; look again).
 */
export async function removeRunLock(seen: LockInfo): Promise<'removed' | 'changed' | 'busy'> {
  const marker = `${seen.file}.takeover`;
  try {
    await writeFile(marker, `${process.pid}`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (!isCode(error, 'EEXIST')) throw new StateError(`cannot write ${marker}: ${explainCode(error)}`, {}, { cause: error });
    const age = await stat(marker).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > TAKEOVER_STALE_MS) await unlink(marker).catch(() => undefined);
    else await sleep(10 + Math.random() * 20);
    return 'busy';
  }
  try {
    const now = await readFile(seen.file, 'utf8').catch(() => null);
    if (now !== seen.raw) return 'changed';
    await unlink(seen.file).catch(() => undefined);
    return 'removed';
  } finally {
    await unlink(marker).catch(() => undefined);
  }
}

/** `config`: the config file, for the advice in the error when the lock is held. `heartbeatMs`: default HEARTBEAT_MS. */
export async function acquireRunLock(stateDir: string, options: { config?: string; heartbeatMs?: number } = {}): Promise<RunLock> {
  ensureStateDir(stateDir);
  const file = lockFile(stateDir);
  const me = newHolder();
  const raw = JSON.stringify(me);
  const tmp = `${file}.${me.token}.tmp`;
  try {
    await writeFile(tmp, raw, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    throw new StateError(`cannot write the run lock in the state directory ${stateDir}: ${explainCode(error)}`, {}, { cause: error });
  }
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      try {
        await link(tmp, file);
        return held(file, raw, me.token, options.heartbeatMs ?? HEARTBEAT_MS);
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw new StateError(`cannot take the run lock ${file}: ${explainCode(error)}`, {}, { cause: error });
      }
      const info = await readRunLock(stateDir);
      if (!info) continue; // released meanwhile
      if (!info.stale) throw lockedError(info, options.config ?? 'org.yaml');
      await removeRunLock(info);
    }
    throw new LockedError(`could not take ${file}: it kept changing hands`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** A lock we hold: heartbeat while it lives, removed on release, or at exit should the process end first. */
function held(file: string, raw: string, token: string, heartbeatMs: number): RunLock {
  holding(token, true);
  const mine = () => {
    try {
      return readFileSync(file, 'utf8') === raw;
    } catch {
      return false;
    }
  };
  // A second Ctrl-C exits at once: the lock still goes.
  const onExit = () => {
    if (mine()) unlinkSync(file);
  };
  process.on('exit', onExit);
  const heartbeat = setInterval(() => {
    const now = new Date();
    if (mine()) utimes(file, now, now).catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  return {
    release: async () => {
      clearInterval(heartbeat);
      process.off('exit', onExit);
      holding(token, false);
      if (mine()) await unlink(file).catch(() => undefined);
    },
  };
}
