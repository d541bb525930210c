/**
 * The plan schema reads what JSON.parse gave back (a plan file, a stored part of a phase, a dead
 * letter): a resource is checked to be an object, not value by value; anything else in its place is
 * refused, named by its path.
 */
import { describe, expect, it } from 'vitest';
import { operationsSchema } from '../../src/model/plan-schema.js';

const create = (resource: unknown) => ({ id: 'op-1', externalId: 'E1', label: 'ada@example.com', kind: 'createUser', resource, hash: 'h', adoptBy: null });

describe('operationsSchema', () => {
  it('takes a resource as JSON.parse gives it back, the same object', () => {
    const [op] = JSON.parse(JSON.stringify([create({ userName: 'ada@example.com', name: { givenName: 'Ada' }, emails: [{ value: 'ada@example.com' }], active: true })])) as [Record<string, unknown>];
    const read = operationsSchema.safeParse([op]);
    expect(read.success).toBe(true);
    expect(read.data![0]).toEqual(op);
    expect((read.data![0] as { resource: unknown }).resource).toBe(op['resource']);
  });

  it('refuses a resource that is no object: a string, an array, null, missing', () => {
    for (const resource of ['ada', ['ada'], null, undefined]) {
      const read = operationsSchema.safeParse(JSON.parse(JSON.stringify([create(resource)])));
      expect(read.success, JSON.stringify(resource)).toBe(false);
      expect(read.error!.issues[0]!.path).toEqual([0, 'resource']);
    }
  });
});
