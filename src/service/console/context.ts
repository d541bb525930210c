/** What the console reads and acts through: the running service's parts, never a copy of them. */
import type { LoadedConfig } from '../../config/load.js';
import type { RunState } from '../../engine/run-state.js';
import type { Notifier } from '../../notify/notifier.js';
import type { FeedStatus } from '../feed-loop.js';
import type { Readiness } from '../http-server.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { ReconcileLane } from '../reconcile-lane.js';

export interface ConsoleContext {
  loaded: LoadedConfig;
  state: RunState;
  notifier: Notifier;
  reconcile: ReconcileLane;
  metrics: Metrics;
  feeds: readonly FeedStatus[];
  readiness(): Readiness;
  log(line: string): void;
  /** The service stopping. */
  signal: AbortSignal;
}
