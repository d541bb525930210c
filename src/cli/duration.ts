/** Durations on the command line: `90s`, `30m`, `2h`, `7d`, `500ms`; a bare number is seconds. */
import { InvalidArgumentError } from 'commander';
import { durationMs } from '../config/duration.js';

export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === undefined) throw new InvalidArgumentError(`"${text}" is not a duration (write 90s, 30m, 2h or 500ms)`);
  return ms;
}
