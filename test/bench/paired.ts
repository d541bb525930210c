/** Measuring on a shared machine: paired rounds, medians, and the load they ran under. */
import { loadavg } from 'node:os';

export const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const round2 = (n: number) => Math.round(n * 100) / 100;

/** The 1-minute load average before and after, and the CPUs it shares. */
export interface Load {
  before: number;
  after: number;
  cpus: number;
}

export const loadNow = () => round2(loadavg()[0]!);

/**
 * Runs every side once per round, one after the other in a rotating order (so no side always goes
 * first on a cold cache or last on a tired machine); returns each side's measurements by round.
 * Ratios are then taken within a round: a neighbour's burst hits both sides of a pair alike.
 */
export async function pairedRounds<K extends string, S>(rounds: number, sides: Record<K, S>, measure: (side: S, name: K) => Promise<number>): Promise<Record<K, number[]>> {
  const names = Object.keys(sides) as K[];
  const out = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(r + j) % names.length]!;
      out[name].push(await measure(sides[name], name));
    }
  }
  return out;
}
