/**
 * Whether this worker still holds a chunk's job, checked before each of its operations starts. A
 * worker only starts an operation while it provably holds the job's BullMQ lock: otherwise (Redis
 * was away longer than the lock lives, or this process stalled) another worker may have taken the
 * chunk over and run the same operations, and two creates of one person could both post.
 *
 * The lock lives `lockMs` from when it was taken or extended, and no other worker can take the job
 * while it does (BullMQ moves a job back to wait only when its lock is gone). So the lease runs from
 * the moment this worker asked for the job (processedOn, set before Redis took the lock) or last
 * asked to extend it, for lockMs; once less than half of it is left, an operation about to start
 * extends it first (one Redis call per half lock life; BullMQ's own renewals go on beside).
 */
import type { Job } from 'bullmq';

export class ChunkLease {
  private until: number;
  private extending: Promise<boolean> | undefined;
  /** The lock was found gone or another worker's: this worker starts nothing more of the chunk. */
  lost = false;

  constructor(
    private readonly job: Job,
    private readonly token: string | undefined,
    private readonly lockMs: number,
  ) {
    this.until = (job.processedOn ?? 0) + lockMs;
  }

  /** A value at once while the lease is young (no promise per operation), else once extended. */
  held(): boolean | Promise<boolean> {
    if (this.lost) return false;
    if (Date.now() < this.until - this.lockMs / 2) return true;
    this.extending ??= this.extend().finally(() => {
      this.extending = undefined;
    });
    return this.extending;
  }

  private async extend(): Promise<boolean> {
    const asked = Date.now();
    // No token: a job run outside a worker's lock (never in `scim-sync worker`); nothing to lose.
    const ours = this.token === undefined || (await this.job.extendLock(this.token, this.lockMs)) === 1;
    if (ours) this.until = asked + this.lockMs;
    else this.lost = true;
    return ours;
  }
}
