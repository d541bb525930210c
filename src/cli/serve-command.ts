/**
 * `scim-sync serve`: the long-running service (service/serve.ts) until SIGTERM/SIGINT. Embedded, it
 * holds the run lock for its lifetime (a cron `run` beside it is refused, as two runs are); with
 * `queue:` its cycles go to the workers under per-target locks, and its change-driven batches run
 * here. On a stop it finishes the operations in flight, writes what is pending and releases the lock.
 */
import { hostname } from 'node:os';
import { openState } from '../engine/state.js';
import { startService } from '../service/serve.js';
import type { SourceSetup } from '../config/schema/index.js';
import { createChangeFeed } from '../sources/create-change-feed.js';
import { FileDueChanges } from '../state/due-changes.js';
import { FileEventIdStore } from '../state/event-id-store.js';
import { FileFeedTokenStore } from '../state/feed-tokens.js';
import { load } from './load-config.js';
import { withState } from './with-state.js';
import { EXIT } from './exit-codes.js';
import { logWarning, type Io } from './io.js';
import { serviceNotifier } from './notifier.js';
import { cycleFailedEvent } from '../notify/notifier.js';
import { describeError } from '../errors.js';
import type { CommandOutput } from './command-output.js';
import type { Log } from '../telemetry/logger.js';

export interface ServeOptions {
  config: string;
  /** Overrides serve.listen (host:port). */
  listen?: string;
  /** The log (main.ts); absent: plain lines on stdout. */
  output?: CommandOutput;
}

/** Joined sources: only the primary has a feed (create-change-feed.ts); said at start, so no one waits for a change that waits for a cycle. */
function secondariesUnwatched(setup: SourceSetup): string {
  if (setup.type !== 'joined') return '';
  const names = Object.keys(setup.join.secondaries).join(', ');
  return `; joined sources: only the primary ${setup.join.primary} is watched, a change in ${names} alone reaches the targets at the next full cycle`;
}

export async function serveCommand(opts: ServeOptions, io: Io, stop: Promise<void>): Promise<number> {
  const loaded = load(opts.config, io, { warn: logWarning(opts.output, io) });
  if (opts.listen) loaded.config.serve.listen = opts.listen;
  const log: Log = opts.output?.log ?? ((line) => io.out(`${new Date().toISOString()} ${line}`));
  // Embedded: the run lock for the service's lifetime (a cron `run` beside it is refused). Distributed:
  // each cycle takes its targets' locks and hands them to the workers with the plan.
  const state = await openState(loaded, { lock: !loaded.config.queue, longLived: true, audit: true, log: (l) => log(l, { level: 'warn' }), initiator: { initiator: 'schedule', by: `serve@${hostname()}` } });
  return withState(state, io, undefined, async () => {
    const feed = createChangeFeed(loaded.config.source, loaded.config.safety, new FileFeedTokenStore(loaded.stateDir));
    const ids = loaded.config.events ? FileEventIdStore.open(loaded.stateDir) : undefined;
    const events = ids ? { ids, due: new FileDueChanges(loaded.stateDir) } : undefined;
    // Delivered in the background, so a webhook that hangs holds up no leaver; closed (with a bound)
    // before the state, whose audit log records what it gave up.
    const notifier = serviceNotifier(loaded, (line) => log(line, { level: 'warn' }), state.audit);
    try {
      const service = await startService({ loaded, state, notifier, feeds: feed ? [feed] : [], log, ...(events ? { events } : {}) });
      log(
        `serving on ${service.url} (/healthz, /readyz, /metrics${events ? `, /events/{${Object.keys(loaded.config.events!).join(',')}}` : ''}${loaded.config.serve.console ? ', /ui' : ''}); ` +
          `${loaded.config.schedule ? `full cycles on "${loaded.config.schedule.cron}"` : 'no schedule.cron: full cycles only at start and on request'}; ` +
          `${feed ? `watching ${feed.feed.description} every ${loaded.config.serve.pollIntervalMs} ms` : 'no change feed for this source'}` +
          secondariesUnwatched(loaded.config.source),
      );
      // A write of the audit log or the link journal that failed stops every apply from then on (the
      // halt is for the life of the state): the service stops too, so that its supervisor (systemd,
      // Kubernetes) starts it again with the state reopened, instead of serving /readyz "ready" while
      // it syncs no one.
      const halted = new Promise<unknown>((resolve) => {
        if (state.halted.aborted) resolve(state.halted.reason);
        else state.halted.addEventListener('abort', () => resolve(state.halted.reason), { once: true });
      });
      const failure = await Promise.race([stop.then(() => undefined), halted]);
      if (failure !== undefined) {
        const why = `the state could not be written: ${describeError(failure)}`;
        log(`stopping: ${why}; nothing more is written to the apps until the service is started again`, { level: 'error' });
        await notifier.notify(cycleFailedEvent('serve', [why]));
      } else {
        log('stopping: finishing the operations in flight');
      }
      await service.close();
      ids?.close();
      await notifier.close();
      log('stopped');
      return failure !== undefined ? EXIT.FAILED_OPERATIONS : EXIT.OK;
    } catch (error) {
      await notifier.close();
      throw error;
    }
  });
}
