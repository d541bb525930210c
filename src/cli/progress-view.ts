/**
 * The progress of `run`, `plan` and `apply` on stderr. On a terminal: live rows (cli-progress), the
 * source read, then a row per target (listing pages, apply with a bar, done/total, rate and ETA,
 * and a visible wait when the server asked for one); a line the command prints meanwhile clears the
 * rows first and they come back under it. Off a terminal: the same words as a log line every few
 * seconds, while something is going on. Nothing with --quiet or --json (the caller's choice).
 */
import cliProgress from 'cli-progress';
import { onRequestEnd } from '../targets/http/request-events.js';
import type { Logger } from '../telemetry/logger.js';
import type { SyncObserver } from '../telemetry/sync-events.js';
import type { Io } from './io.js';
import { ProgressState } from './progress-state.js';

export interface ProgressView {
  observer: SyncObserver;
  /** `io` whose lines do not tear through the rows. */
  around(io: Io): Io;
  stop(): void;
}

export type ProgressMode = { kind: 'terminal'; stream: NodeJS.WriteStream } | { kind: 'lines'; everyMs: number; logger: Logger };

/** Terminal rows, redrawn 10 times a second by cli-progress from the state. */
class TerminalRows {
  private bars: cliProgress.MultiBar | null = null;
  private readonly rows = new Map<string, cliProgress.SingleBar>();
  private stopped = false;

  constructor(
    private readonly state: ProgressState,
    private readonly stream: NodeJS.WriteStream,
  ) {}

  private render(key: string, options: cliProgress.Options): string {
    if (key === '') return this.state.sourceLine() ?? '';
    const t = this.state.targets.get(key);
    if (!t) return '';
    const line = this.state.targetLine(t);
    if (t.stage !== 'applying' && t.stage !== 'queued') return line;
    const bar = cliProgress.Format.BarFormat(t.total ? t.done / t.total : 1, options);
    return `${bar} ${line}`;
  }

  /** The rows for what the state holds now: created after a clear, a row added for a new target. */
  draw(): void {
    if (this.stopped) return;
    if (!this.bars) {
      this.bars = new cliProgress.MultiBar({
        stream: this.stream,
        format: (options, _params, payload: { key: string }) => this.render(payload.key, options),
        barsize: 20,
        hideCursor: true,
        clearOnComplete: true,
        linewrap: false,
        fps: 10,
      });
    }
    const keys = [...(this.state.source.state === 'idle' ? [] : ['']), ...this.state.targets.keys()];
    for (const key of keys) if (!this.rows.has(key)) this.rows.set(key, this.bars.create(1, 0, { key }));
  }

  /** Clears the rows; they come back on the next event or at once after a print. */
  clear(): void {
    this.bars?.stop();
    this.bars = null;
    this.rows.clear();
  }

  print(write: () => void): void {
    const shown = this.bars !== null;
    this.clear();
    write();
    if (shown) this.draw();
  }

  stop(): void {
    this.clear();
    this.stopped = true;
  }
}

export function startProgress(mode: ProgressMode): ProgressView {
  const state = new ProgressState();
  const unlisten = onRequestEnd((e) => state.request(e));
  if (mode.kind === 'terminal') {
    const rows = new TerminalRows(state, mode.stream);
    // A second Ctrl-C exits at once (cli/interrupt.ts): the cursor the rows hid comes back all the same.
    const showCursor = () => mode.stream.write('\x1b[?25h');
    process.once('exit', showCursor);
    return {
      observer: (event) => {
        state.event(event);
        rows.draw();
      },
      around: (io) => ({ out: (text) => rows.print(() => io.out(text)), err: (text) => rows.print(() => io.err(text)) }),
      stop: () => {
        unlisten();
        rows.stop();
        process.off('exit', showCursor);
      },
    };
  }
  const timer = setInterval(() => {
    for (const { line, target } of state.lines()) mode.logger.log(`progress: ${line}`, target ? { target } : {});
  }, mode.everyMs);
  timer.unref();
  return {
    observer: (event) => state.event(event),
    around: (io) => io,
    stop: () => {
      unlisten();
      clearInterval(timer);
    },
  };
}
