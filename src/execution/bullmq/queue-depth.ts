/**
 * The depth of the queues a process works with, as BullMQ counts it (the figures its own
 * Prometheus export gives), for the metrics: each target's operation queue, the control queue and
 * the scheduler's. The queues are opened once and closed with the process.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig } from '../../config/schema/index.js';
import { CONTROL_QUEUE, SCHEDULE_QUEUE, targetQueueName } from '../../state/redis-keys.js';
import type { QueueCounts } from '../../telemetry/metrics.js';

/** Job states counted: those a queue's depth is made of, and the dead letters (failed). */
const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused', 'failed'] as const;

export interface QueueDepth {
  read(): Promise<QueueCounts[]>;
  close(): Promise<void>;
}

export function queueDepth(redis: Redis, q: QueueConfig, targets: readonly string[]): QueueDepth {
  const names = [...targets.map(targetQueueName), CONTROL_QUEUE, SCHEDULE_QUEUE];
  const queues = names.map((name) => new Queue(name, { connection: redis, prefix: q.prefix }));
  return {
    read: () => Promise.all(queues.map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts(...STATES) }))),
    close: async () => {
      await Promise.all(queues.map((queue) => queue.close()));
    },
  };
}
