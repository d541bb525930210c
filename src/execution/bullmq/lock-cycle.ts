/**
 * Whether a target's lock belongs to a cycle the workers have not finished. The process that plans a
 * cycle hands its lock to the cycle and exits; from then on the lock's token names a process that is
 * gone while the workers still run the cycle, so `unlock` asks the queue and the cycle store instead
 * of the planner's pid.
 */
import { Queue, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import { CONTROL_QUEUE } from '../../state/redis-keys.js';
import { CycleStore } from './cycle-store.js';
import type { PhaseJobData } from './queue-layout.js';

/** Control jobs in these states are still to run: a cycle has one until its last phase job completes. */
const UNFINISHED: JobType[] = ['active', 'waiting', 'waiting-children', 'delayed', 'prioritized', 'paused'];

export interface LockCycle {
  planId: string;
  /** Its phase and feed jobs not yet done; 0 when only its stored plan (without a report) says it is unfinished. */
  jobs: number;
}

/** The unfinished cycle holding the target's lock with `token`, or null when there is none. */
export async function unfinishedCycle(redis: Redis, prefix: string, target: string, token: string): Promise<LockCycle | null> {
  const control = new Queue<PhaseJobData>(CONTROL_QUEUE, { connection: redis, prefix });
  try {
    const jobs = (await control.getJobs(UNFINISHED)).filter((j) => j?.data.target === target && j.data.lockToken === token);
    if (jobs.length > 0) return { planId: jobs[0]!.data.planId, jobs: jobs.length };
  } finally {
    await control.close();
  }
  // Reading only: the retention is not used.
  const [planId] = await new CycleStore(redis, prefix, 0).unfinishedPlans(target, token);
  return planId ? { planId, jobs: 0 } : null;
}
