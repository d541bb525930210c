/**
 * `scim-sync serve`: full reconciles on the cron (and at start), change feeds polled between them,
 * the people they name synced on the fast lane, and the HTTP endpoints. The caller opens the run
 * state (lock, links, audit) for the service's lifetime and closes it after `close()`.
 */
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import type { RunState } from '../engine/run-state.js';
import { describeError } from '../errors.js';
import type { Plan } from '../model/plan.js';
import type { Notifier } from '../notify/notifier.js';
import type { ChangeFeed } from '../sources/change-feed.js';
import type { DueChanges } from '../state/due-changes.js';
import type { EventIdStore } from '../state/event-id-store.js';
import { unreached } from '../execution/run-report.js';
import { everyCronTime, nextCronTime } from './cron-timer.js';
import { ChangeWindow, windowFromLog } from './change-window.js';
import { CycleHold } from './cycle-hold.js';
import { lastFullRead } from './last-full-read.js';
import { DueTimer } from './due-timer.js';
import { inboundEvents } from './inbound-events.js';
import { FastLane, notApplied, type BatchOutcome } from './fast-lane.js';
import { runFeed, type FeedStatus } from './feed-loop.js';
import { startHttp, type Readiness } from './http-server.js';
import { Metrics } from '../telemetry/metrics.js';
import type { Log } from '../telemetry/logger.js';
import { ReconcileLane, type CycleOutcome } from './reconcile-lane.js';

export interface ServiceOptions {
  loaded: LoadedConfig;
  state: RunState;
  notifier: Notifier;
  feeds: readonly { name: string; feed: ChangeFeed }[];
  /** Where inbound events (config `events:`) are deduplicated and future-dated ones kept. */
  events?: { ids: EventIdStore; due: DueChanges; refusalLogMs?: number };
  log: Log;
  /** Told each full cycle's plan before it is applied; the apply waits for it (tests interleave events here). */
  onCyclePlan?(plan: Plan): Promise<void>;
  /** Told each change-driven batch's outcome, after the metrics. */
  onBatch?(batch: BatchOutcome): void;
  /** Where the service keeps its metrics (default its own): the command adds the queues' depth in distributed mode. */
  metrics?: Metrics;
}

/** What the parts of the service share. */
export interface ServiceCore {
  fast: FastLane;
  reconcile: ReconcileLane;
  metrics: Metrics;
  signal: AbortSignal;
}

export interface ServiceHandle extends ServiceCore {
  url: string;
  /** The start-up reconcile's outcome (undefined when serve.reconcileOnStart is off). */
  firstCycle: Promise<CycleOutcome | undefined>;
  feeds: readonly FeedStatus[];
  close(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<ServiceHandle> {
  const { loaded, state, notifier, log } = options;
  const serve = loaded.config.serve;
  const stop = new AbortController();
  const signal = stop.signal;
  const metrics = options.metrics ?? new Metrics();
  const unlisten = metrics.listenToRequests();
  const hold = new CycleHold(loaded.config.safety, log);
  // Set once the fast lane exists (the lane's first cycle is asked for after that).
  let resync: (keys: string[]) => void = () => undefined;
  const reconcile = new ReconcileLane({
    loaded,
    state,
    notifier,
    log,
    signal,
    onCycle: (o) => {
      cycleMetrics(metrics, o);
      const again = hold.observe(o);
      if (again.length > 0) resync(again);
    },
    observer: metrics.observe,
    ...(options.onCyclePlan ? { onPlan: options.onCyclePlan } : {}),
  });
  // Said once, not for every batch that finds no full read in the log.
  let warned = false;
  const fullRead = () => lastFullRead(loaded.auditFile, (line) => (warned ? undefined : ((warned = true), log(line, { level: 'warn' }))));
  const fast = new FastLane({
    loaded,
    state,
    window: await windowFromLog(loaded.auditFile, serve.safetyWindowMinutes * 60_000, (line) => log(line, { level: 'warn' })).catch((error: unknown) => {
      log(`the provisioning log could not be read for the safety window (${describeError(error)}): it starts empty`, { level: 'warn' });
      return new ChangeWindow(serve.safetyWindowMinutes * 60_000);
    }),
    hold,
    notifier,
    log,
    signal,
    sourcePeople: fullRead,
    managed: async () => {
      const counts = new Map<string, number>();
      for (const [target] of selectTargets(loaded)) counts.set(target, reconcile.managed.get(target) ?? (await state.links.snapshot(target, 'user')).size);
      return counts;
    },
    observer: metrics.observe,
    fullReconcile: (reason) => reconcile.request(reason, { awaitApply: true }),
    onBatch: (b) => {
      batchMetrics(metrics, b);
      options.onBatch?.(b);
    },
  });
  // People a held target's batches kept back that the cycle which lifted the hold may not have read.
  // A failure (more than maxBatch people go through a full cycle, which a stopping service refuses)
  // is said, not left unhandled: the next full cycle reads them anyway.
  resync = (keys) =>
    void fast.sync({ keys, initiator: 'event', by: 'held while the full cycle was stopped' }).catch((error: unknown) =>
      log(`the ${keys.length} people held while the full cycle was stopped were not synced again (${describeError(error)}): the next full cycle syncs them`, { level: 'warn' }),
    );
  const core: ServiceCore = { fast, reconcile, metrics, signal };
  const timer = options.events ? new DueTimer(options.events.due, fast, log, signal) : undefined;
  const endpoints = loaded.config.events;
  const event = options.events && timer && endpoints ? inboundEvents({ endpoints, ...options.events, fast, timer, maxKeys: serve.maxEventKeys, maxBatch: serve.maxBatch, metrics, log }) : undefined;
  const feeds: FeedStatus[] = options.feeds.map(({ name, feed }) => ({ name, description: feed.description }));
  const readiness = (): Readiness => {
    const problems: string[] = [];
    if (serve.reconcileOnStart && !reconcile.last) problems.push('the first full cycle has not finished');
    const result = reconcile.last?.result;
    if (reconcile.last?.error !== undefined) problems.push(`the last full cycle failed: ${describeError(reconcile.last.error)}`);
    if (result?.kind === 'stopped') problems.push(`the last full cycle was stopped by the safety check: ${result.error.reasons.join('; ')}`);
    problems.push(...hold.problems());
    for (const t of result?.kind === 'applied' ? result.report.targets : []) {
      const trouble = unreached(t);
      if (trouble) problems.push(trouble);
    }
    for (const f of feeds) if (f.error) problems.push(`feed ${f.name}: ${f.error}`);
    if (state.halted.aborted) problems.push(`the state could not be written: ${describeError(state.halted.reason)}`);
    if (timer?.problem) problems.push(`future-dated changes: ${timer.problem}`);
    const last = reconcile.last;
    return {
      ready: problems.length === 0,
      problems,
      detail: {
        ...(last ? { lastCycle: { reason: last.reason, startedAt: last.startedAt.toISOString(), finishedAt: last.finishedAt.toISOString(), result: last.result?.kind ?? 'failed' } } : {}),
        ...(loaded.config.schedule ? { nextCycle: nextCronTime(loaded.config.schedule, new Date()).toISOString() } : {}),
        feeds: feeds.map((f) => ({ ...f })),
        // Worked around, so not a reason to be unready, but someone should look (an entry stamped in the future).
        ...(feeds.some((f) => f.warnings) ? { warnings: feeds.flatMap((f) => (f.warnings ?? []).map((w) => `feed ${f.name}: ${w}`)) } : {}),
      },
    };
  };
  // Loaded only when configured: the console's pages are no part of a service without one.
  const ui = serve.console ? await (await import('./console/console.js')).startConsole({ loaded, state, notifier, reconcile, metrics, feeds, readiness, log, signal }) : undefined;
  const http = await startHttp(serve.listen, {
    readiness,
    metrics: () => metrics.scrape(),
    ...(event ? { event: event.event, hasEvent: event.has, eventIntake: event.intake } : {}),
    ...(ui ? { ui: ui.handle } : {}),
  }, log, { maxConnections: serve.maxConnections, maxConnectionsPerAddress: serve.maxConnectionsPerAddress }).catch(async (error: unknown) => {
    await ui?.close();
    throw error;
  });

  // Future-dated changes stored before a restart, some perhaps already due.
  timer?.wake();
  // Before the feeds start: no batch writes through a doubt the start-up cycle has yet to meet again.
  if (serve.reconcileOnStart) hold.awaitStartUp(selectTargets(loaded).map(([name]) => name));
  const firstCycle = serve.reconcileOnStart ? reconcile.request('start-up') : Promise.resolve(undefined);
  if (loaded.config.schedule) everyCronTime(loaded.config.schedule, signal, () => void reconcile.request(`cron "${loaded.config.schedule!.cron}"`));
  const loops = options.feeds.map(({ name, feed }, i) =>
    runFeed(name, feed, feeds[i]!, { fast, reconcile, metrics, intervalMs: serve.pollIntervalMs, log }, signal).catch((error: unknown) => log(`feed ${name} stopped: ${describeError(error)}`)),
  );

  return {
    ...core,
    url: http.url,
    firstCycle,
    feeds,
    close: async () => {
      stop.abort(new Error('the service is stopping'));
      await http.close();
      await ui?.close();
      await Promise.all(loops);
      await timer?.idle();
      await fast.idle();
      await reconcile.idle();
      await Promise.all(options.feeds.map(({ feed }) => feed.close().catch(() => undefined)));
      unlisten();
    },
  };
}

// Operations, retries and each target's cycle end reach the metrics as they happen (observer).
function cycleMetrics(metrics: Metrics, o: CycleOutcome): void {
  metrics.cycles.inc({ result: o.result?.kind ?? 'failed' });
}

function batchMetrics(metrics: Metrics, b: BatchOutcome): void {
  // incomplete: applied, but not everywhere (a target left out in quarantine or not reached, a
  // passing failure): its people are tried again.
  const result = b.stopped ? 'stopped' : b.error !== undefined ? 'failed' : notApplied(b) ? 'incomplete' : 'applied';
  metrics.batches.inc({ result });
  metrics.people.inc({ result }, b.keys.length);
}
