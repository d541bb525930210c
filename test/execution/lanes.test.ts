import { describe, expect, it } from 'vitest';
import { Lanes } from '../../src/execution/lanes.js';

/** A task that ends when `release` is called, recording when it started and ended. */
function gate(log: string[], name: string): { task: () => Promise<void>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    task: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
    },
    release: () => release(),
  };
}

describe('Lanes', () => {
  it('runs at most `concurrency` tasks at once, in the order added, and is idle only when all ended', async () => {
    const log: string[] = [];
    const lanes = new Lanes(2);
    const gates = ['a', 'b', 'c', 'd'].map((n) => gate(log, n));
    for (const g of gates) lanes.add(g.task);
    expect(log).toEqual(['start a', 'start b']);
    let idle = false;
    const waited = lanes.idle().then(() => (idle = true));
    gates[1]!.release();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['start a', 'start b', 'end b', 'start c']);
    gates[0]!.release();
    gates[2]!.release();
    await new Promise((r) => setImmediate(r));
    // Which of a and c ends first is the microtask queue's business; d starts once one did.
    expect(log.slice(4).sort()).toEqual(['end a', 'end c', 'start d']);
    expect(log.indexOf('start d')).toBeGreaterThan(Math.min(log.indexOf('end a'), log.indexOf('end c')));
    expect(idle).toBe(false);
    gates[3]!.release();
    await waited;
    expect(log.at(-1)).toBe('end d');
  });

  it('takes tasks a running task adds, and is idle at once when empty', async () => {
    const lanes = new Lanes(1);
    await lanes.idle();
    const ran: number[] = [];
    lanes.add(async () => {
      ran.push(1);
      lanes.add(async () => {
        ran.push(2);
      });
    });
    await lanes.idle();
    expect(ran).toEqual([1, 2]);
  });

  it('rejects idle() with the first failure as it happens; the other tasks still run', async () => {
    const log: string[] = [];
    const lanes = new Lanes(2);
    const slow = gate(log, 'slow');
    lanes.add(slow.task);
    lanes.add(async () => {
      throw new Error('state write failed');
    });
    lanes.add(async () => {
      log.push('after');
    });
    await expect(lanes.idle()).rejects.toThrow('state write failed');
    expect(log).toEqual(['start slow', 'after']);
    slow.release();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['start slow', 'after', 'end slow']);
  });
});
