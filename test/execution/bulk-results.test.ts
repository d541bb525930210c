/**
 * Which result of a /Bulk answer belongs to which operation sent, on answers that leave bulkId out
 * (RFC 7644 §3.7.3 requires it only on the results of POSTs) or put the results in another order.
 */
import { describe, expect, it } from 'vitest';
import { matchResults } from '../../src/execution/bulk-apply.js';
import type { BulkOperation, BulkResult } from '../../src/targets/scim-target.js';

const post = (n: number): BulkOperation => ({ method: 'POST', bulkId: `c${n}`, path: '/Users', data: { userName: `u${n}` } });
const patch = (id: string): BulkOperation => ({ method: 'PATCH', bulkId: `p-${id}`, path: `/Users/${id}`, data: {} });
const del = (id: string): BulkOperation => ({ method: 'DELETE', bulkId: `d-${id}`, path: `/Users/${id}` });
const at = (id: string) => `https://app.example/scim/v2/Users/${id}`;

describe('/Bulk results to operations', () => {
  it('by bulkId, whatever the order', () => {
    const sent = [post(1), patch('a'), post(2)];
    const results: BulkResult[] = [
      { bulkId: 'c2', status: 201, location: at('n2') },
      { bulkId: 'p-a', status: 200 },
      { bulkId: 'c1', status: 201, location: at('n1') },
    ];
    expect(matchResults(sent, results)).toEqual([results[2], results[1], results[0]]);
  });

  it('a create is never matched by its place: without its bulkId it has no result', () => {
    const sent = [post(1), post(2)];
    const results: BulkResult[] = [
      { method: 'POST', status: 201, location: at('n2') },
      { method: 'POST', status: 201, location: at('n1') },
    ];
    expect(matchResults(sent, results)).toEqual([undefined, undefined]);
  });

  it('an update or deprovision without bulkId: by the location naming its resource, in any order', () => {
    const sent = [patch('a'), del('b'), patch('c')];
    const results: BulkResult[] = [
      { method: 'PATCH', status: 400, location: at('c') },
      { method: 'DELETE', status: 204, location: at('b') },
      { method: 'PATCH', status: 200, location: at('a') },
    ];
    expect(matchResults(sent, results)).toEqual([results[2], results[1], results[0]]);
  });

  it('by place only with one result per operation, and none that says otherwise (method, location)', () => {
    const sent = [patch('a'), del('b')];
    const bare: BulkResult[] = [{ status: 200 }, { status: 204 }];
    expect(matchResults(sent, bare)).toEqual(bare);
    // One result short: nothing is matched by place.
    expect(matchResults(sent, [{ status: 200 }])).toEqual([undefined, undefined]);
    // Reversed, with the method said: the places contradict, so neither is taken.
    const reversed: BulkResult[] = [{ method: 'DELETE', status: 204 }, { method: 'PATCH', status: 200 }];
    expect(matchResults(sent, reversed)).toEqual([undefined, undefined]);
    // A create's result in an update's place (its location names the new account) is not taken.
    expect(matchResults([patch('a'), post(1)], [{ status: 201, location: at('n1') }, { status: 200 }])).toEqual([undefined, undefined]);
  });

  it('two results locating the same resource match neither', () => {
    const sent = [patch('a'), patch('b')];
    const results: BulkResult[] = [
      { status: 200, location: at('a') },
      { status: 500, location: at('a') },
    ];
    expect(matchResults(sent, results)).toEqual([undefined, undefined]);
  });
});
