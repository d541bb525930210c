/**
 * The operators' log (pino): what the process does over time, one record per line, on stderr. JSON
 * lines where a machine reads them (off a terminal: journald, a container's log, cron's mail), a
 * short human line on a terminal. Every line carries the cycle (the plan id) and the target it
 * concerns when there is one, and passes the one redactor (config/secret.ts) on its way out.
 *
 * The provisioning log (audit/) stays the record of changes; this one is for running the thing.
 * Layers below the CLI log through `Log`, a function of a line and its fields, and never see pino.
 */
import { pino, stdTimeFunctions, type Logger as Pino } from 'pino';
import { redact } from '../config/secret.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Fields of a log line: the cycle and target it concerns, its level (default info), and any plain value. */
export interface LogFields {
  cycle?: string;
  target?: string;
  level?: LogLevel;
  [key: string]: string | number | boolean | undefined;
}

/** One log line, with its fields. */
export type Log = (line: string, fields?: LogFields) => void;

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** Lines below this level are dropped; `silent` drops all. */
  level: LogLevel | 'silent';
  format: LogFormat;
  /** Where each finished line goes (without its newline). */
  write(line: string): void;
  /** Colour the level of pretty lines (a terminal). */
  colour?: boolean;
}

export interface Logger {
  readonly log: Log;
  /** A logger whose every line carries `fields` (e.g. the cycle). */
  child(fields: LogFields): Logger;
  /** Whether lines of `level` are written. */
  enabled(level: LogLevel): boolean;
}

const COLOURS: Record<string, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

/** `12:03:04 INFO  [plan-1f2e app] message key=value`: the JSON record made short for a person. */
export function prettyLine(json: string, colour = false): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time, msg, cycle, target, pid: _pid, hostname: _host, ...rest } = record;
  const label = String(level ?? 'info');
  const padded = label.toUpperCase().padEnd(5);
  const shown = colour ? `${COLOURS[label] ?? ''}${padded}\x1b[0m` : padded;
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const where = [cycle, target].filter((v) => typeof v === 'string' && v !== '').join(' ');
  const extra = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [clock, shown, where ? `[${where}]` : '', String(msg ?? ''), ...extra].filter(Boolean).join(' ');
}

function wrap(p: Pino): Logger {
  return {
    log: (line, fields) => {
      if (!fields) return p.info(line);
      const { level = 'info', ...rest } = fields;
      p[level](rest, line);
    },
    child: (fields) => wrap(p.child(fields)),
    enabled: (level) => p.isLevelEnabled(level),
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = {
    write: (chunk: string) => {
      const line = redact(chunk.replace(/\n$/, ''));
      options.write(options.format === 'pretty' ? prettyLine(line, options.colour) : line);
    },
  };
  return wrap(
    pino(
      {
        level: options.level,
        // No pid or host on every line: a worker says its name, and the platform knows where a line came from.
        base: undefined,
        timestamp: stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    ),
  );
}

/** A logger that writes nothing. */
export const SILENT: Logger = { log: () => undefined, child: () => SILENT, enabled: () => false };
