/**
 * Notices in a run's report: each once, in the order first given, in constant time per notice
 * (they name people, so a run refused everywhere has as many as operations), also on a report
 * read back from storage with notices in it already.
 */
import { expect, it } from 'vitest';
import { addNotice, emptyTargetReport } from '../../src/execution/run-report.js';

it('keeps each notice once, in first-given order, for 200,000 distinct notices given twice', () => {
  const report = emptyTargetReport('app');
  for (let round = 0; round < 2; round++) for (let i = 0; i < 200_000; i++) addNotice(report, `the server accepts but does not keep title of u${i}@x.com`);
  addNotice(report, undefined);
  addNotice(report, '');
  expect(report.notices).toHaveLength(200_000);
  expect(report.notices![0]).toBe('the server accepts but does not keep title of u0@x.com');
  expect(report.notices![199_999]).toBe('the server accepts but does not keep title of u199999@x.com');
});

it('a report read back with notices, then given more, keeps them once', () => {
  const stored = JSON.parse(JSON.stringify({ ...emptyTargetReport('app'), notices: ['a', 'b'] })) as ReturnType<typeof emptyTargetReport>;
  addNotice(stored, 'b');
  addNotice(stored, 'c');
  stored.notices!.push('d');
  addNotice(stored, 'd');
  addNotice(stored, 'a');
  expect(stored.notices).toEqual(['a', 'b', 'c', 'd']);
});
