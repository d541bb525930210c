/**
 * How planning reads its targets, over real HTTP to two sandboxes: every target's listing runs at
 * the same time as the others' (each its own server) and with the source's read (for a CSV, its
 * pages after the first two are read once the read is done: early-listing.test.ts,
 * paging.test.ts; google-to-sandbox.test.ts shows a slow directory); a source that cannot be read
 * writes to none of them.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { RecordedRequest } from '../../src/sandbox/server.js';
import { Harness, person, TOKEN } from '../support/harness.js';

let h: Harness;
let other: Sandbox;
const people = Array.from({ length: 3 }, (_, i) => person(i + 1));
// Five pages of ten, one page at a time (concurrency 1), each answered after 50 ms: a listing that
// lasts at least 250 ms on each server, so one read after the other could not overlap.
const slow = { seedUsers: 50, behaviour: { latencyMs: 50 } };

beforeEach(async () => {
  h = await Harness.start({ sandbox: slow });
  other = await startSandbox({ token: TOKEN, ...slow });
  h.writePeople(people);
  const config = readFileSync(h.configFile, 'utf8').replace('concurrency: 4', 'concurrency: 1\n    pageSize: 10');
  writeFileSync(h.configFile, config.replace('targets:\n', `targets:\n  crm:\n    url: ${other.url}\n    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }\n    concurrency: 1\n    pageSize: 10\n`));
});
afterEach(async () => {
  await other.close();
  await h.close();
});

/** The listing's page requests (GET /Users without a filter), in arrival order. */
const listing = (requests: readonly RecordedRequest[]) => requests.filter((r) => r.method === 'GET' && r.path === '/Users' && !new URLSearchParams(r.query).has('filter'));

describe('planning reads every target at once, with the source', () => {
  it('the two listings overlap: each server sees its first page asked before the other server is asked its last', async () => {
    const r = await h.cli('plan', '--config', h.configFile);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/crm[^\n]*\n[\s\S]*create/);
    const app = listing(h.sandbox.requests);
    const crm = listing(other.requests);
    // Five pages of ten and the empty check past them, or five when the total is trusted: at least five each.
    expect(app.length).toBeGreaterThanOrEqual(5);
    expect(crm.length).toBeGreaterThanOrEqual(5);
    expect(app[0]!.at).toBeLessThan(crm.at(-1)!.at);
    expect(crm[0]!.at).toBeLessThan(app.at(-1)!.at);
  });

  it('a source that cannot be read: neither server is written to (their listings, begun with the source read, are reads)', async () => {
    rmSync(h.csv);
    const r = await h.cli('run', '--config', h.configFile);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(h.csv);
    expect(h.sandbox.requests.filter((q) => q.method !== 'GET')).toEqual([]);
    expect(other.requests.filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it('a target whose discovery fails is not listed meanwhile (its pages would be kept for nothing)', async () => {
    h.sandbox.addFault({ method: 'GET', path: '/Schemas', times: Infinity, action: { type: 'status', status: 403 } });
    const r = await h.cli('plan', '--config', h.configFile);
    expect(r.out).toMatch(/Target app: not read/);
    expect(listing(h.sandbox.requests)).toEqual([]);
    // The other target is listed and planned as ever.
    expect(listing(other.requests).length).toBeGreaterThan(0);
  });
});

