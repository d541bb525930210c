/**
 * Who holds something in the state for a while, and the one rule that says they are gone: the run
 * lock (run-lock.ts) and a staged set taken for a decision (staged-store.ts) each record their
 * holder (pid, host, start time, PID namespace and boot id, a token) and a heartbeat that the holder
 * refreshes every HEARTBEAT_MS while it holds.
 *
 * A holder is gone: in this PID space (holderInOurPidSpace) when its pid no longer exists, or now
 * belongs to another process; from anywhere else when its heartbeat is older than STALE_AFTER_MS.
 *
 * A pid means something only in the PID namespace of one boot of one machine. The hostname alone
 * does not say that: containers with host networking or a fixed `hostname:`, or `unshare --pid`,
 * share it, and a pid from there does not exist here (or is someone else's), though its holder
 * runs. So a holder's pid is looked at only when the host, the boot id and the PID namespace are
 * all ours; where the system records neither (no /proc: macOS, which has no PID namespaces), the
 * hostname alone decides, as it did. A container restarted in place gets a new PID namespace: its
 * previous life's holder is judged by its heartbeat (a clean stop releases at once).
 *
 * In our PID space a pid may have been reused since (this very process's, after an exec or in a
 * restarted process that kept the namespace), so a pid is the holder's only if it is not ours (what
 * this process holds is known by its token) and the process started when the holder did (its start
 * time in /proc, where there is one).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
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
  /** The process's PID namespace (readlink /proc/self/ns/pid: `pid:[4026531836]`), where the system has one. */
  pidns?: string;
  /** The boot of the machine it ran on (/proc/sys/kernel/random/boot_id), where the system has one. */
  boot?: string;
}

/** Where a pid means what it says: this process's PID namespace and boot, each where the system has it. */
export interface PidSpace {
  pidns?: string;
  boot?: string;
}

function readPidSpace(): PidSpace {
  const read = (what: () => string) => {
    try {
      return what().trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const pidns = read(() => readlinkSync('/proc/self/ns/pid'));
  const boot = read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  return { ...(pidns ? { pidns } : {}), ...(boot ? { boot } : {}) };
}

let here: PidSpace | undefined;
/** This process's PID space (read once: neither changes while a process lives). */
export function ourPidSpace(): PidSpace {
  return (here ??= readPidSpace());
}

/**
 * A PID space as 8 hex digits, for a record that must stay short and safe to show (a Redis lock's
 * token): equal digests, the same space. Every version computes it the same way (a token may be
 * judged by another one); where the system records neither part, the digest is that of nothing, and
 * the hostname alone decides, as above.
 */
export function pidSpaceDigest(space: PidSpace): string {
  return createHash('sha256').update(`${space.pidns ?? ''}\n${space.boot ?? ''}`).digest('hex').slice(0, 8);
}

/** Whether the holder's pid is one of ours: the same hostname, boot and PID namespace (where there are none, as none are here). */
export function holderInOurPidSpace(h: Pick<Holder, 'host' | 'pidns' | 'boot'>): boolean {
  const ours = ourPidSpace();
  return h.host === hostname() && h.pidns === ours.pidns && h.boot === ours.boot;
}

/** Tokens of what this process holds now. */
const ours = new Set<string>();

/** This process, as the holder of something taken now; `tokenBytes`: random bytes of its token. */
export function newHolder(tokenBytes = 8): Holder {
  const start = processStart(process.pid);
  return { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(tokenBytes).toString('hex'), ...(start ? { start } : {}), ...ourPidSpace() };
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
  /** In our PID space, whether the holder's process exists; undefined elsewhere (another host, PID namespace or boot). */
  alive: boolean | undefined;
  /** The holder is gone, by the rule above. */
  gone: boolean;
}

/** The rule above, for a holder whose last heartbeat was `heartbeatAgeMs` ago. */
export function judgeHolder(h: Pick<Holder, 'pid' | 'host' | 'token' | 'start' | 'pidns' | 'boot'>, heartbeatAgeMs: number): HolderState {
  const alive = holderInOurPidSpace(h) ? holderAlive(h) : undefined;
  return { alive, gone: alive === undefined ? heartbeatAgeMs > STALE_AFTER_MS : !alive };
}

/** Where a holder's pid would mean something: "host-a", "this host", "this host (another PID namespace)". */
export function holderPlace(h: Pick<Holder, 'host' | 'pidns' | 'boot'>): string {
  if (h.host !== hostname()) return h.host;
  if (holderInOurPidSpace(h)) return 'this host';
  const ours = ourPidSpace();
  if (h.boot && ours.boot && h.boot !== ours.boot) return `${h.host} (this host's name: another machine, or an earlier boot)`;
  if (h.pidns && ours.pidns && h.pidns !== ours.pidns) return 'this host (another PID namespace: a container, or unshare)';
  return `${h.host} (this host's name; its PID namespace was not recorded)`;
}

/** "pid 42 on host-a since ..., last heartbeat 12 s ago" */
export function describeHolder(h: Pick<Holder, 'pid' | 'host' | 'since' | 'pidns' | 'boot'>, heartbeatAgeMs: number): string {
  return `pid ${h.pid} on ${holderPlace(h)} since ${h.since}, last heartbeat ${Math.round(heartbeatAgeMs / 1000)} s ago`;
}

/** Why a gone holder is gone, for the record: "its process no longer runs", "no heartbeat for 12 minutes". */
export function whyGone(state: HolderState, heartbeatAgeMs: number): string {
  return state.alive === false ? 'its process no longer runs on this host' : `no heartbeat for ${Math.round(heartbeatAgeMs / 60_000)} minutes`;
}
