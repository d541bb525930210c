/** Durations as people write them: `500ms`, `90s`, `30m`, `6h`, `1d`; a bare number is seconds. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds (rounded, at least 1), or undefined when `text` is not a positive duration. */
export function durationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  const ms = match ? Number(match[1]) * UNITS[(match[2] ?? 's').toLowerCase()]! : NaN;
  return Number.isFinite(ms) && ms > 0 ? Math.max(1, Math.round(ms)) : undefined;
}
