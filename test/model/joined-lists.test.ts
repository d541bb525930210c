import { describe, expect, it } from 'vitest';
import { joined, mapKept } from '../../src/model/joined-lists.js';

describe('joined lists', () => {
  it('lays lists end to end in order, in a new array, leaving the lists as they were', () => {
    const a = [1, 2];
    const b: number[] = [];
    const c = [3];
    const out = joined([a, b, c]);
    expect(out).toEqual([1, 2, 3]);
    out.push(4);
    expect([a, b, c]).toEqual([[1, 2], [], [3]]);
    expect(joined([])).toEqual([]);
  });

  it('keeps elements that are lists themselves as elements (one level only)', () => {
    expect(joined<unknown>([[[1, 2]], [[3]]])).toEqual([[1, 2], [3]]);
  });

  it('joins more lists than one call takes at once, in order', () => {
    const lists = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? [] : [i, -i]));
    expect(joined(lists)).toEqual(lists.flat());
  });

  it('maps and leaves out what the function gives as undefined, and nothing else', () => {
    expect(mapKept([1, 2, 3, 4], (n) => (n % 2 === 0 ? n * 10 : undefined))).toEqual([20, 40]);
    expect(mapKept(new Set(['a', '', 'b']), (s) => s)).toEqual(['a', '', 'b']);
    expect(mapKept(new Map([['k', 0]]).values(), (v) => v)).toEqual([0]);
  });
});
