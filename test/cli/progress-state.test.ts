/** What the progress says at each point of a sync, from its events, on a clock of our own. */
import { expect, it } from 'vitest';
import { ProgressState } from '../../src/cli/progress-state.js';

it('source records as they are read, listing pages, apply with rate, ETA and failures, the Retry-After wait, then done', () => {
  let now = 0;
  const p = new ProgressState(() => now);
  p.event({ type: 'source', state: 'reading' });
  now = 2_000;
  p.event({ type: 'source', state: 'reading', records: 12_000 });
  expect(p.lines()).toEqual([{ line: 'source: reading, 12000 records (2 s)' }]);
  p.event({ type: 'source', state: 'done', people: 20_000, groups: 12 });
  expect(p.sourceLine()).toBe('source: read 20000 people, 12 groups');
  p.event({ type: 'listing', target: 'app', resource: 'Users', listed: 300, pages: 3, done: false });
  expect(p.lines()).toEqual([{ line: 'app: listing Users: 300 (3 pages)', target: 'app' }]);
  p.event({ type: 'apply', target: 'app', total: 1000 });
  now += 10_000;
  for (let i = 0; i < 250; i++) p.event({ type: 'operation', target: 'app', kind: 'createUser', outcome: i < 2 ? 'failed' : 'ok' });
  expect(p.lines()).toEqual([{ line: 'app: applying 250/1000 (25%), 25/s, ETA 30 s, 2 failed', target: 'app' }]);
  // A 429 with Retry-After on any request of the target shows as a countdown.
  p.request({ target: 'app', method: 'POST', status: 429, seconds: 0.01, retryAfterMs: 52_000 });
  now += 1_000;
  expect(p.lines()[0]!.line).toMatch(/; waiting 51 s for the server's Retry-After$/);
  now += 51_000;
  expect(p.lines()[0]!.line).not.toContain('waiting');
  p.event({ type: 'applied', target: 'app' });
  expect(p.lines()).toEqual([]);
});

it('distributed, waiting for the workers: what they have done and for how long, and how long Redis has not answered; not the listing', () => {
  let now = 0;
  const p = new ProgressState(() => now);
  p.event({ type: 'listing', target: 'app', resource: 'Users', listed: 0, pages: 0, done: false });
  p.event({ type: 'queued', target: 'app', total: 214, done: 0 });
  now = 65_000;
  p.event({ type: 'queued', target: 'app', total: 214, done: 120 });
  expect(p.lines()).toEqual([{ line: 'app: waiting for the workers, 120/214 done (56%), 1m 05s so far', target: 'app' }]);
  p.event({ type: 'queued', target: 'app', total: 214, done: 120, unreachableSince: 25_000 });
  expect(p.lines()[0]!.line).toBe('app: waiting for the workers, 120/214 done (56%), 1m 05s so far; Redis not answering for 40 s');
  p.event({ type: 'queued', target: 'app', total: 214, done: 130 });
  expect(p.lines()[0]!.line).not.toContain('Redis');
});

it('a CSV source tells the records it has read as it reads them', async () => {
  const { Harness, TOKEN, person } = await import('../support/harness.js');
  const { loadConfig } = await import('../../src/config/load.js');
  const { createSource } = await import('../../src/sources/create-source.js');
  const h = await Harness.start();
  try {
    h.writePeople(Array.from({ length: 2_500 }, (_, i) => person(i + 1)));
    const counts: number[] = [];
    const snapshot = await createSource(loadConfig(h.configFile, { ...process.env, TEST_SCIM_TOKEN: TOKEN }).config.source).read({ records: (n) => counts.push(n) });
    expect(snapshot.users).toHaveLength(2_500);
    expect(counts).toEqual([1_000, 2_000]);
  } finally {
    await h.close();
  }
});
