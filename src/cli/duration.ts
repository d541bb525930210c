/** Durations on the command line: `90s`, `30m`, `2h`, `7d`, `500ms`; a bare number is seconds. */
import { InvalidArgumentError } from 'commander';
import { durationMs } from '../config/duration.js';

export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === undefined) throw new InvalidArgumentError(`"${text}" is not a duration (write 90s, 30m, 2h, 7d or 500ms)`);
  return ms;
}

/** A span for a person: `42 s`, `5m 22s`, `2h 05m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
