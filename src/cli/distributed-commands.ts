/** The distributed-mode commands: `worker`, `schedule`, `status`, `retry`. */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Initiator } from '../audit/audit-sink.js';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import type { QueueConfig, TargetConfig } from '../config/schema/index.js';
import { selectTargets } from '../config/select-targets.js';
import { startScheduler } from '../engine/scheduled-cycle.js';
import { ConfigError, describeError } from '../errors.js';
import { startWorkers } from '../execution/bullmq/bullmq-worker.js';
import { readQueueStatus, type AbandonedCycle } from '../execution/bullmq/queue-status.js';
import { retryFailed, retryLeftOut } from '../engine/retry-failed.js';
import { openState } from '../engine/state.js';
import { connectRedis } from '../state/redis-connection.js';
import { redisAddress, redisStep } from '../state/redis-errors.js';
import { RedisQuarantineStore } from '../state/quarantine-store.js';
import { RedisWriteMemory } from '../state/redis-write-memory.js';
import { serviceNotifier } from './notifier.js';
import { load } from './load-config.js';
import { EXIT } from './exit-codes.js';
import { formatStatus, type TargetWrites } from './format-status.js';
import { logWarning, type Io } from './io.js';
import type { CommandOutput } from './command-output.js';
import { serveMetrics, type MetricsListen } from './metrics-endpoint.js';
import { Metrics } from '../telemetry/metrics.js';
import { queueDepth } from '../execution/bullmq/queue-depth.js';
import type { Log } from '../telemetry/logger.js';

interface Distributed {
  loaded: LoadedConfig;
  q: QueueConfig;
  selected: [string, TargetConfig][];
  targets: string[];
}

/** The config, its queue block (required here) and the targets asked for (all enabled by default). */
function distributed(opts: { config: string; target?: string[]; output?: CommandOutput }, io: Io, command: string): Distributed {
  const loaded = load(opts.config, io, { warn: logWarning(opts.output, io) });
  const q = loaded.config.queue;
  if (!q) throw new ConfigError(`${loaded.file}: \`${command}\` needs distributed mode: set queue.redis`);
  const selected = selectTargets(loaded, opts.target);
  return { loaded, q, selected, targets: selected.map(([name]) => name) };
}

/** `lives`: a worker's or scheduler's connection, which waits for Redis as long as it takes; else a command's, which gives up (queue.commandTimeoutMs). */
const connect = (q: QueueConfig, io: Io, lives: 'long' | 'short', log?: Log): Promise<Redis> =>
  connectRedis(q.redis, { onError: (m) => (log ? log(m, { level: 'warn' }) : io.err(`warning: ${m}`)), ...(lives === 'short' ? { commandTimeoutMs: q.commandTimeoutMs } : {}) });

/**
 * Runs a long-lived command (worker, scheduler) with its Redis connection and audit log, and closes
 * both however it ends: an audit log that fails its close must not leave Redis connected.
 */
async function withConnections<T>(
  loaded: LoadedConfig,
  q: QueueConfig,
  io: Io,
  body: (redis: Redis, audit: JsonlAuditSink) => Promise<T>,
  initiator?: Initiator,
  log?: Log,
  onAuditFailure?: (error: Error) => void,
): Promise<T> {
  const redis = await connect(q, io, 'long', log);
  try {
    const audit = new JsonlAuditSink(loaded.auditFile, {
      settings: loaded.config.audit,
      ...(initiator ? { initiator: { initiator } } : {}),
      ...(onAuditFailure ? { onFailure: onAuditFailure } : {}),
    });
    try {
      return await body(redis, audit);
    } finally {
      // A write failure already told to onAuditFailure is not thrown a second time here.
      await audit.close().catch((error: unknown) => {
        if (!onAuditFailure) throw error;
      });
    }
  } finally {
    redis.disconnect();
  }
}

/** Options of the long-running distributed commands. */
interface LongRunning extends MetricsListen {
  config: string;
  name?: string;
  output: CommandOutput;
}

/**
 * The process's metrics (operations, retries, requests, cycles, the queues' depth) while `body`
 * runs, served at --metrics-port when given.
 */
async function withMetrics<T>(
  redis: Redis,
  q: QueueConfig,
  targets: readonly string[],
  opts: LongRunning,
  body: (metrics: Metrics, served: boolean) => Promise<T>,
): Promise<T> {
  const metrics = new Metrics();
  // Requests are timed only where the figures can be read: without --metrics-port nobody scrapes them.
  const served = opts.metricsPort !== undefined;
  const unlisten = served ? metrics.listenToRequests() : () => {};
  const depth = queueDepth(redis, q, targets);
  metrics.watchQueues(depth.read);
  const http = await serveMetrics(metrics, opts, opts.output.log);
  try {
    return await body(metrics, served);
  } finally {
    await http?.close();
    unlisten();
    await depth.close();
  }
}

export async function workerCommand(opts: LongRunning & { target?: string[] }, io: Io, stop: Promise<void>): Promise<number> {
  const { loaded, q, targets } = distributed(opts, io, 'worker');
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  const { log } = opts.output;
  // A worker that can no longer record what it does takes no further job: the jobs wait for another worker.
  let auditFailure: Error | undefined;
  let auditFailed!: () => void;
  const failed = new Promise<void>((resolve) => (auditFailed = resolve));
  const onAuditFailure = (error: Error) => {
    auditFailure ??= error;
    auditFailed();
  };
  return withConnections(loaded, q, io, (redis, audit) =>
    withMetrics(redis, q, targets, opts, async (metrics, served) => {
      const handle = await startWorkers({ loaded, redis, targets, audit, log, name, ...(served ? { observer: metrics.observe } : {}) });
      log(`worker ${name} ready: targets ${targets.join(', ')}; Redis ${redisAddress(q.redis)}, prefix ${q.prefix}`);
      await Promise.race([stop, failed]);
      if (auditFailure) io.err(`error: ${describeError(auditFailure)}; worker ${name} takes no further job (what it did is in the cycle reports; other workers take the rest)`);
      log(`worker ${name} stopping: finishing the operations in flight`);
      await handle.close();
      log(`worker ${name} stopped`);
      return auditFailure ? EXIT.FAILED_OPERATIONS : EXIT.OK;
    }),
  undefined, log, onAuditFailure);
}

export async function scheduleCommand(opts: LongRunning, io: Io, stop: Promise<void>): Promise<number> {
  const { loaded, q, targets } = distributed(opts, io, 'schedule');
  const s = loaded.config.schedule;
  if (!s) throw new ConfigError(`${loaded.file}: \`schedule\` needs a schedule block (schedule.cron)`);
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  const { log } = opts.output;
  return withConnections(loaded, q, io, (redis, audit) =>
    withMetrics(redis, q, targets, opts, async (metrics) => {
      const notifier = serviceNotifier(loaded, (line) => log(line, { level: 'warn' }), audit);
      try {
        const handle = await startScheduler({
          loaded,
          redis,
          audit,
          log,
          name,
          notifier,
          onCycle: (result) => metrics.cycles.inc({ result }),
        });
        log(`scheduler ${name} ready: cron "${s.cron}"${s.timezone ? ` (${s.timezone})` : ''}, jitter up to ${s.jitterMs} ms; next cycle ${handle.next?.toISOString() ?? 'unknown'}`);
        await stop;
        await handle.close();
      } finally {
        await notifier.close();
      }
      log(`scheduler ${name} stopped`);
      return EXIT.OK;
    }),
  'schedule', log);
}

export async function statusCommand(opts: { config: string; target?: string[]; json?: boolean }, io: Io): Promise<number> {
  const { loaded, q, selected } = distributed(opts, io, 'status');
  const redis = await connect(q, io, 'short');
  try {
    const { status, quarantined, writes } = await redisStep(q.redis, 'reading the queue status', async () => {
      const status = await readQueueStatus(redis, q, selected, loaded.config.schedule);
      const all = await new RedisQuarantineStore(redis, q.prefix).all();
      const quarantined = new Map([...all].filter(([target]) => selected.some(([name]) => name === target)));
      const memory = new RedisWriteMemory(redis, q.prefix);
      const writes: Map<string, TargetWrites> = new Map();
      for (const [name] of selected) {
        writes.set(name, { parked: [...(await memory.parked(name)).values()].filter((e) => e.parked), shapes: Object.fromEntries(await memory.shapes(name)) });
      }
      return { status, quarantined, writes };
    });
    io.out(
      opts.json
        ? JSON.stringify({ ...status, quarantined: [...quarantined.values()], writes: Object.fromEntries(writes) }, null, 2)
        : formatStatus(status, redisAddress(q.redis), quarantined, writes),
    );
    return EXIT.OK;
  } finally {
    redis.disconnect();
  }
}

/** What retry did with a cycle a failed control job left behind, instead of resuming it. */
function abandonedLine(c: AbandonedCycle): string {
  const jobs = `${c.jobs.length} failed control job${c.jobs.length === 1 ? '' : 's'} of cycle ${c.planId}`;
  const what = c.gone
    ? "its plan is gone from Redis (expired or lost), so nothing of it could be recovered; the next cycle plans its work afresh"
    : c.closed
      ? `the cycle is closed instead: its ${c.closed.failed} operation${c.closed.failed === 1 ? '' : 's'} without an outcome ${c.closed.failed === 1 ? 'is a failed operation' : 'are failed operations'}, re-queued above`
      : 'the cycle had finished: its operations without an outcome were failed operations already';
  return `${c.target}: ${jobs} removed, not resumed (the cycle no longer holds the target's lock, so its workers would send nothing); ${what}`;
}

export async function retryCommand(opts: { config: string; target?: string[]; json?: boolean; overrideSafety?: boolean }, io: Io): Promise<number> {
  const { loaded, targets } = distributed(opts, io, 'retry');
  // The targets' cycle locks: the retry is a cycle, and never runs beside another on a target.
  const state = await openState(loaded, { lock: true, audit: true, targets, log: (line) => io.err(line) });
  try {
    // A safety stop throws: exit 3, nothing re-queued, every failed operation kept.
    const retry = await retryFailed(loaded, state, targets, { overrideSafety: !!opts.overrideSafety });
    if (opts.json) {
      io.out(
        JSON.stringify(
          {
            planId: retry.planId,
            operations: Object.fromEntries(retry.operations),
            quarantined: Object.fromEntries(retry.quarantined),
            abandonedCycles: retry.abandoned,
            dropped: retry.skipped.map((s) => ({ target: s.target, kind: s.op.kind, externalId: s.op.externalId, label: s.op.label, note: s.note })),
            unchecked: Object.fromEntries(retry.unchecked),
          },
          null,
          2,
        ),
      );
    } else {
      for (const target of targets) {
        const n = retry.operations.get(target);
        if (n !== undefined) io.out(`${target}: ${n} failed operation${n === 1 ? '' : 's'} re-queued${n > 0 ? ` as cycle ${retry.planId}, in phase order` : ''}`);
        for (const cycle of retry.abandoned.filter((c) => c.target === target)) io.out(abandonedLine(cycle));
        for (const line of retryLeftOut(retry, target)) io.out(line);
      }
      io.out(`Follow it with: scim-sync status --config ${opts.config}`);
    }
    // A target whose failed operations could not be checked, or left out in quarantine (as `run` exits), retried nothing: not a success.
    return retry.unchecked.size + retry.quarantined.size > 0 ? EXIT.FAILED_OPERATIONS : EXIT.OK;
  } finally {
    await state.close();
  }
}
