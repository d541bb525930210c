/**
 * `run --quiet`, as the README's cron line runs it: a run with nothing to do and nothing to say
 * prints nothing (cron mails only what matters); anything to do, or to say, is printed as before.
 */
import { afterEach, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const people = [person(1), person(2), person(3)];

it('nothing to do: no output, exit 0; a change: the plan and the report; without --quiet: as ever', async () => {
  h = await Harness.synced(people);
  const idle = await h.cli('run', '--config', h.configFile, '--quiet');
  expect({ code: idle.code, out: idle.out, err: idle.err }).toEqual({ code: 0, out: '', err: '' });

  const loud = await h.cli('run', '--config', h.configFile);
  expect(loud.code).toBe(0);
  expect(loud.out).toContain('Total: 0 ok');

  h.writePeople([...people, person(4)]);
  const change = await h.cli('run', '--config', h.configFile, '--quiet');
  expect(change.code).toBe(0);
  expect(change.out).toContain('+ create');
  expect(change.out).toContain('created 1');
});

it('nothing to do but something to say (a source warning): printed', async () => {
  h = await Harness.synced(people);
  h.writePeople([...people, { ...person(4), id: '' }]);
  const r = await h.cli('run', '--config', h.configFile, '--quiet');
  expect(r.out).toContain('Plan ');
});
