/** Durations on the command line: `90s`, `30m`, `2h`, `7d`, `500ms`; a bare number is seconds. */
import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  const ms = match ? Number(match[1]) * UNITS[(match[2] ?? 's').toLowerCase()]! : NaN;
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError(`"${text}" is not a duration (write 90s, 30m, 2h or 500ms)`);
  return Math.round(ms);
}
