/**
 * The console's costly reads (a person's page, a log search) run one at a time with a short line
 * of waiters; past it a viewer is told the console is busy (429) instead of spending the targets'
 * shared rate budget.
 */
import { expect, it } from 'vitest';
import { BusyError, ReadGate } from '../../src/service/console/read-gate.js';

function deferred(): { promise: Promise<string>; resolve(v: string): void } {
  let resolve!: (v: string) => void;
  const promise = new Promise<string>((r) => (resolve = r));
  return { promise, resolve };
}

it('runs one read at a time, the waiting in turn, and refuses past the line', async () => {
  const gate = new ReadGate('person pages', 1);
  const started: string[] = [];
  const a = deferred();
  const b = deferred();
  const first = gate.run(() => (started.push('a'), a.promise));
  const second = gate.run(() => (started.push('b'), b.promise));
  await expect(gate.run(async () => 'c')).rejects.toThrow(BusyError);
  await expect(gate.run(async () => 'c')).rejects.toThrow(/busy with your other person pages/);
  expect(started).toEqual(['a']);
  a.resolve('A');
  expect(await first).toBe('A');
  await expect.poll(() => started).toEqual(['a', 'b']);
  b.resolve('B');
  expect(await second).toBe('B');
  // A read that failed frees its turn too.
  await expect(gate.run(async () => Promise.reject(new Error('target down')))).rejects.toThrow('target down');
  expect(await gate.run(async () => 'after')).toBe('after');
});
