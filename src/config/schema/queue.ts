/** `queue`: distributed mode, BullMQ on Redis. */
import * as z from 'zod';
import { positiveInt } from './numbers.js';
import { secret } from './secret-field.js';

/** queue.failedRetentionHours when the config does not say. */
export const DEFAULT_FAILED_RETENTION_HOURS = 168;

export const queue = z
  .object({
    redis: secret.describe(
      'Redis URL: redis://[:password@]host:6379[/db] or rediss:// for TLS. Setting it turns on distributed mode: ' +
        'run/apply enqueue to BullMQ, `scim-sync worker` executes, links and locks live in Redis. Use ${env:NAME} when it holds a password.',
    ),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "-" and "_" (no ":")')
      .default('scim-sync')
      .describe('Prefix of every Redis key and queue; separate installations sharing one Redis use different prefixes. Default scim-sync.'),
    lockDurationMs: positiveInt
      .default(30_000)
      .describe('How long a worker owns a job without renewing it; a job whose worker died is taken over after this. Default 30000 ms.'),
    stalledIntervalMs: positiveInt
      .default(30_000)
      .describe("How often workers look for jobs whose worker died (stalled jobs). Default 30000 ms."),
    cycleLockMs: positiveInt
      .default(600_000)
      .describe(
        "How long a target's cycle lock lives without progress; workers renew it as they process the cycle. A cycle " +
          'abandoned by every worker frees the target after this. Default 600000 ms (10 minutes).',
      ),
    idleWarningMs: positiveInt
      .default(10_000)
      .describe('run/apply --wait says so when no worker has been connected to a target\'s queue for this long. Default 10000 ms.'),
    retentionHours: positiveInt
      .default(24)
      .describe(
        'Completed jobs, stored plans, outcomes and cycle reports are kept this long (re-enqueueing a plan within it does ' +
          'nothing twice). Failed operations are kept for failedRetentionHours. Default 24 hours.',
      ),
    failedRetentionHours: positiveInt
      .default(DEFAULT_FAILED_RETENTION_HOURS)
      .describe(
        'Failed operations (what `status` lists and `scim-sync retry` takes, each with the resource it would write and the ' +
          "server's error) are kept at most this long after they failed, unless retry takes them or a later cycle does the " +
          "same operation. A target's last cycle report (what `status` shows) is kept this long after it was written. " +
          'Default 168 hours (7 days).',
      ),
    commandTimeoutMs: positiveInt
      .default(15_000)
      .describe(
        'The commands that end (run, apply, status, retry, unlock, approve...) give up on a Redis command that has no answer ' +
          'after this long, and on one whose connection could not be made again, with an error naming Redis; `run --wait` ' +
          'keeps waiting through such an outage until --wait-timeout or Ctrl-C. worker, schedule and serve wait for Redis as ' +
          'long as it takes. Default 15000 ms.',
      ),
  })
  .strict();
