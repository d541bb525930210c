/**
 * The service (`scim-sync serve`) started in-process on the harness's config: its HTTP endpoints on
 * a free loopback port, its run state open until `stop`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/load.js';
import { createChangeFeed } from '../../src/sources/create-change-feed.js';
import { FileFeedTokenStore } from '../../src/state/feed-tokens.js';
import { openState } from '../../src/engine/state.js';
import type { RunState } from '../../src/engine/run-state.js';
import { NO_NOTIFIER } from '../../src/notify/notifier.js';
import type { BatchOutcome } from '../../src/service/fast-lane.js';
import type { ChangeBatch, ChangeFeed } from '../../src/sources/change-feed.js';
import { startService, type ServiceHandle, type ServiceOptions } from '../../src/service/serve.js';
import { FileDueChanges } from '../../src/state/due-changes.js';
import { FileEventIdStore } from '../../src/state/event-id-store.js';
import { TOKEN, type Harness, type Person } from './harness.js';

export interface RunningService extends ServiceHandle {
  state: RunState;
  lines: string[];
  get(path: string): Promise<{ status: number; body: string }>;
  post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** `more`: more of the inbound events' options (their stores are the harness's). */
export async function startTestService(h: Harness, extra: Partial<Omit<ServiceOptions, 'loaded' | 'state' | 'log'>> = {}, more: { refusalLogMs?: number } = {}): Promise<RunningService> {
  process.env['TEST_SCIM_TOKEN'] = TOKEN;
  const loaded = loadConfig(h.configFile);
  loaded.config.serve.listen = '127.0.0.1:0';
  const state = await openState(loaded, { lock: !loaded.config.queue, audit: true, initiator: { initiator: 'schedule', by: 'serve@test' } });
  const lines: string[] = [];
  const ids = loaded.config.events ? FileEventIdStore.open(loaded.stateDir) : undefined;
  const events = ids ? { ids, due: new FileDueChanges(loaded.stateDir), ...more } : undefined;
  const service = await startService({ loaded, state, notifier: NO_NOTIFIER, feeds: [], log: (l) => lines.push(l), ...(events ? { events } : {}), ...extra });
  return {
    ...service,
    state,
    lines,
    get: async (path) => {
      const res = await fetch(`${service.url}${path}`, { signal: AbortSignal.timeout(10_000) });
      return { status: res.status, body: await res.text() };
    },
    post: async (path, body, headers) => {
      const res = await fetch(`${service.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(10_000) });
      return { status: res.status, body: await res.text() };
    },
    stop: async () => {
      await service.close();
      ids?.close();
      await state.close();
    },
  };
}

/** The next change-driven batch's outcome: pass `onBatch: batches.listener` to the service. */
export class Batches {
  private waiting: ((b: BatchOutcome) => void)[] = [];
  readonly seen: BatchOutcome[] = [];
  readonly listener = (b: BatchOutcome): void => {
    this.seen.push(b);
    for (const w of this.waiting.splice(0)) w(b);
  };

  next(timeoutMs = 20_000): Promise<BatchOutcome> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no change-driven batch within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((b) => {
        clearTimeout(timer);
        resolve(b);
      });
    });
  }
}

/**
 * A service whose first cycle plans to create `newcomer` (in the source as the harness's people plus
 * them) and, between that plan and its apply, sees the offer withdrawn: the source shows them
 * terminated and the change-driven path syncs them. The cycle's create must not bring them back.
 */
export async function serviceWithWithdrawnNewcomer(h: Harness, people: readonly Person[], newcomer: Person): Promise<RunningService> {
  h.writePeople([...people, newcomer]);
  let service: RunningService | undefined;
  service = await startTestService(h, {
    onCyclePlan: async () => {
      h.writePeople([...people, { ...newcomer, status: 'terminated' }]);
      const outcome = await service!.fast.sync({ keys: [newcomer.id], initiator: 'event', by: 'test' });
      if (outcome.error) throw outcome.error;
    },
  });
  return service;
}

/**
 * A feed that cannot name who changed (a group removal, as Google reports one): every poll asks for
 * a full reconcile until its position is committed, then finds nothing new.
 */
export class FullReconcileFeed implements ChangeFeed {
  readonly description = 'group removals';
  /** Polls started; a poll after the first means the first one's batch was dealt with. */
  polls = 0;
  /** Times the position was committed past the change. */
  committed = 0;

  poll(): Promise<ChangeBatch | null> {
    this.polls++;
    if (this.committed > 0) return Promise.resolve(null);
    return Promise.resolve({ keys: [], full: 'someone left a group', description: 'a member removed', commit: async () => void this.committed++ });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The service on the harness's CSV with its change feed (settled after 50 ms), the feed's position
 * taken first (so its first poll finds nothing new), its first cycle done. `edit` changes the
 * config's YAML first (a mapping typo, say).
 */
export async function serveWithCsvFeed(
  h: Harness,
  batches: Batches,
  edit: (yaml: string) => string = (y) => y,
  extra: Pick<ServiceOptions, 'onCyclePlan'> = {},
): Promise<RunningService> {
  h.writeConfig('', '', '  changes: { settleMs: 50 }');
  writeFileSync(h.configFile, edit(readFileSync(h.configFile, 'utf8')));
  const loaded = loadConfig(h.configFile, { TEST_SCIM_TOKEN: 'x'.repeat(8) });
  const feed = createChangeFeed(loaded.config.source, loaded.config.safety, new FileFeedTokenStore(loaded.stateDir))!;
  const baseline = await feed.feed.poll();
  if (!baseline?.full?.includes('no earlier snapshot')) throw new Error(`the feed's first poll was not its baseline: ${baseline?.full}`);
  await baseline.commit();
  const service = await startTestService(h, { feeds: [feed], onBatch: batches.listener, ...extra });
  await service.firstCycle;
  return service;
}
