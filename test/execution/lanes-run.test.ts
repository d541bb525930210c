import { describe, expect, it } from 'vitest';
import { Lanes } from '../../src/execution/lanes.js';

describe('Lanes.run (a worker process\'s slots)', () => {
  it('settles with each task\'s own outcome; a failure is its caller\'s and stops nothing else', async () => {
    const lanes = new Lanes(1);
    const failed = lanes.run(async () => {
      throw new Error('no');
    });
    const value = lanes.run(async () => 42);
    await expect(failed).rejects.toThrow('no');
    await expect(value).resolves.toBe(42);
    await expect(lanes.idle()).resolves.toBeUndefined();
    await expect(lanes.run(async () => 'after')).resolves.toBe('after');
  });

  it('keeps order and concurrency over many more tasks than it keeps listed, while never idle', async () => {
    const lanes = new Lanes(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      most = Math.max(most, ++running);
      await new Promise((r) => setImmediate(r));
      running--;
      // Tasks added by running ones, as a chunk's retries are: the lanes stay busy throughout.
      if (i < 2500) void lanes.run(task(i + 3000));
      return i;
    };
    const results = await Promise.all(Array.from({ length: 3000 }, (_, i) => lanes.run(task(i))));
    await lanes.idle();
    expect(results).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(most).toBe(3);
    expect(started.length).toBe(5500);
    expect(started.slice(0, 3000)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });
});
