/**
 * Records made by plainRecordMaker (model/plain-records.ts) are plain objects to every reader: what
 * the source hands on must compare, clone, serialise and print as an object literal does.
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import { serialize, deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { plainRecordMaker } from '../../src/model/plain-records.js';

describe('plainRecordMaker', () => {
  const make = plainRecordMaker<string | null>();
  const record = () => {
    const r = make();
    for (const [i, k] of ['a', 'b', 'c', 'd', 'e', 'f'].entries()) r[k] = i % 2 ? null : `v${i}`;
    return r;
  };
  const literal = { a: 'v0', b: null, c: 'v2', d: null, e: 'v4', f: null };

  it('makes objects whose prototype is Object.prototype, equal to the literal with the same keys in the same order', () => {
    const r = record();
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(r.constructor).toBe(Object);
    expect(Object.keys(r)).toEqual(Object.keys(literal));
    expect(isDeepStrictEqual(r, literal)).toBe(true);
    expect(r).toStrictEqual(literal);
  });

  it('clones, serialises and prints as the literal does', () => {
    const r = record();
    expect(structuredClone(r)).toStrictEqual(literal);
    expect(deserialize(serialize(r))).toStrictEqual(literal);
    expect(JSON.stringify(r)).toBe(JSON.stringify(literal));
    expect(inspect(r)).toBe(inspect(literal));
  });

  it('gives each call a new object, and each maker objects of its own', () => {
    const other = plainRecordMaker<number>();
    const [x, y, z] = [make(), make(), other()];
    x['a'] = 'x';
    expect(y).toStrictEqual({});
    expect(z).toStrictEqual({});
    expect(x).not.toBe(y);
  });
});
