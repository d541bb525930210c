/**
 * Who holds something in the state for a while, and the one rule that says they are gone: the run
 * lock (run-lock.ts) and a staged set taken for a decision (staged-store.ts) each record their
 * holder (pid, host, start time, a token) and a heartbeat that the holder refreshes every
 * HEARTBEAT_MS while it holds.
 *
 * A holder is gone: on the same host (same hostname) when its pid no longer exists, or now belongs
 * to another process; from another host (a container that was replaced) when its heartbeat is
 * older than STALE_AFTER_MS.
 *
 * "The same host" is the same hostname, which a container restarted in place keeps (the same pod,
 * `docker restart`, a fixed `hostname:`), and a container's process often has the same pid in each
 * life (1, or the one after its init). So a pid is the holder's only if it is not ours (what this
 * process holds is known by its token) and the process started when the holder did (its start time
 * in /proc, where there is one): otherwise the holder is a previous life's, and gone.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** How often a holder refreshes its heartbeat, ms. */
export const HEARTBEAT_MS = 60_000;
/** A holder from another host whose heartbeat is older than this is gone, ms (10 minutes). */
export const STALE_AFTER_MS = 10 * 60_000;

export interface Holder {
  pid: number;
  host: string;
  since: string;
  /** Unique per hold: tells this process's holds from a previous life's under the same pid. */
  token: string;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat), where the system has it. */
  start?: string;
}

/** Tokens of what this process holds now. */
const ours = new Set<string>();

/** This process, as the holder of something taken now; `tokenBytes`: random bytes of its token. */
export function newHolder(tokenBytes = 8): Holder {
  const start = processStart(process.pid);
  return { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(tokenBytes).toString('hex'), ...(start ? { start } : {}) };
}

/** Marks `token` as held by this process (true) or no longer (false). */
export function holding(token: string, held: boolean): void {
  if (held) ours.add(token);
  else ours.delete(token);
}

/** When process `pid` started (field 22 of /proc/<pid>/stat), or undefined where that cannot be read. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists on this host (EPERM: it does, as another user's). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the holder's process still runs on this host: its pid exists, is not ours under another token, and started when it did. */
function holderAlive(h: Pick<Holder, 'pid' | 'token' | 'start'>): boolean {
  if (h.pid === process.pid) return ours.has(h.token);
  if (!processExists(h.pid)) return false;
  const start = h.start === undefined ? undefined : processStart(h.pid);
  return start === undefined || start === h.start;
}

export interface HolderState {
  /** On this host, whether the holder's process exists; undefined for another host. */
  alive: boolean | undefined;
  /** The holder is gone, by the rule above. */
  gone: boolean;
}

/** The rule above, for a holder whose last heartbeat was `heartbeatAgeMs` ago. */
export function judgeHolder(h: Pick<Holder, 'pid' | 'host' | 'token' | 'start'>, heartbeatAgeMs: number): HolderState {
  const alive = h.host === hostname() ? holderAlive(h) : undefined;
  return { alive, gone: alive === undefined ? heartbeatAgeMs > STALE_AFTER_MS : !alive };
}

/** "pid 42 on host-a since ..., last heartbeat 12 s ago" */
export function describeHolder(h: Pick<Holder, 'pid' | 'host' | 'since'>, heartbeatAgeMs: number): string {
  return `pid ${h.pid} on ${h.host === hostname() ? 'this host' : h.host} since ${h.since}, last heartbeat ${Math.round(heartbeatAgeMs / 1000)} s ago`;
}

/** Why a gone holder is gone, for the record: "its process no longer runs", "no heartbeat for 12 minutes". */
export function whyGone(state: HolderState, heartbeatAgeMs: number): string {
  return state.alive === false ? 'its process no longer runs on this host' : `no heartbeat for ${Math.round(heartbeatAgeMs / 60_000)} minutes`;
}
