/** The failure breaker over the request events of one target: which answers count, what starts the count again. */
import { expect, it } from 'vitest';
import { watchFailures } from '../../src/execution/failure-breaker.js';
import { requestEnded } from '../../src/targets/http/request-events.js';

const answer = (target: string, status: number) => requestEnded({ target, method: 'PATCH', status, seconds: 0.01 });

it('trips once, at the limit of 429s, 5xx and missing answers in a row; any other answer of the target starts again', () => {
  const trips: number[] = [];
  const stop = watchFailures('breaker-app', 3, (n) => trips.push(n));
  try {
    for (const s of [429, 503, 200, 0, 502]) answer('breaker-app', s);
    // Another target's answers, and 501 (not implemented: an answer, not an outage), count for nothing here.
    answer('breaker-other', 200);
    answer('breaker-app', 501);
    expect(trips).toEqual([]);
    for (const s of [429, 408, 500]) answer('breaker-app', s);
    expect(trips).toEqual([3]);
    for (const s of [429, 429, 429, 429]) answer('breaker-app', s);
    expect(trips).toEqual([3]);
  } finally {
    stop();
  }
  // Stopped watching: nothing more is counted.
  for (const s of [429, 429, 429]) answer('breaker-app', s);
  expect(trips).toEqual([3]);
});

it('a 400 or a 404 is an answer: it starts the count again', () => {
  const trips: number[] = [];
  const stop = watchFailures('breaker-app-2', 2, (n) => trips.push(n));
  for (const s of [429, 400, 503, 404, 0]) answer('breaker-app-2', s);
  stop();
  expect(trips).toEqual([]);
});

it("a read that succeeds does not start the count again: a target that refuses every write trips it, whatever its look-ups answer", () => {
  // A create answered 503 is ambiguous, so it is looked up (GET, 200) before it is posted again.
  const trips: number[] = [];
  const stop = watchFailures('breaker-app-3', 3, (n) => trips.push(n));
  const request = (method: string, status: number) => requestEnded({ target: 'breaker-app-3', method, status, seconds: 0.01 });
  for (let i = 0; i < 3; i++) {
    request('POST', 503);
    request('GET', 200);
  }
  expect(trips).toEqual([3]);
  stop();
  // A write that succeeds still starts the count again.
  const again: number[] = [];
  const stop2 = watchFailures('breaker-app-3', 2, (n) => again.push(n));
  for (const [m, s] of [['POST', 503], ['POST', 201], ['POST', 503], ['GET', 200]] as const) request(m, s);
  stop2();
  expect(again).toEqual([]);
});
