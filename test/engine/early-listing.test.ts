/**
 * The pages a listing brought while the source was read are handed over in listing order, one per
 * turn of the event loop, and pages that arrive during the hand-over follow them, not jump ahead.
 * The listing's client is one whose pages arrive when the test says (the order is the point, and
 * a server's timing could not force a page into the hand-over); target-reads.test.ts reads real
 * servers. A local source's listing is asked for at once, but its pages after the first two are
 * read only once into() takes them (the client holds them: paging.test.ts).
 */
import { expect, it } from 'vitest';
import { EarlyRead } from '../../src/engine/early-listing.js';
import type { TargetRuntime } from '../../src/execution/executor.js';
import { DEFAULT_CAPABILITIES } from '../../src/targets/http/capabilities.js';
import type { ServerResource } from '../../src/model/scim.js';
import type { ListOptions } from '../../src/targets/scim-target.js';

/**
 * A listing whose pages arrive as `deliver` is called; `end` ends it. It heeds readAfter as the
 * SCIM client does: the pages after the first two are read once it resolves.
 */
function scriptedListing() {
  const waiting: ((page: ServerResource[] | null) => void)[] = [];
  const ready: (ServerResource[] | null)[] = [];
  const next = () => new Promise<ServerResource[] | null>((resolve) => (ready.length > 0 ? resolve(ready.shift()!) : waiting.push(resolve)));
  const put = (page: ServerResource[] | null) => (waiting.length > 0 ? waiting.shift()!(page) : ready.push(page));
  const asked = { discovery: 0, listings: 0 };
  const client = {
    discover: async () => (asked.discovery++, DEFAULT_CAPABILITIES),
    userSchemaExtensions: async () => null,
    schemas: async () => null,
    async *pages(_type: string, options: ListOptions) {
      asked.listings++;
      let read = 0;
      for (let page = await next(); page !== null; page = await next()) {
        if (++read > 2) await options.readAfter;
        yield page;
      }
    },
  };
  const runtime = { name: 'app', client } as unknown as TargetRuntime;
  let n = 0;
  const deliver = () => put([{ id: `a${++n}`, schemas: [] }, { id: `a${++n}`, schemas: [] }]);
  return { runtime, deliver, end: () => put(null), asked };
}

it('hands over the kept pages in order, a turn apart, with the pages that arrive meanwhile behind them', async () => {
  const { runtime, deliver, end } = scriptedListing();
  let listed = 0;
  let threeListed!: () => void;
  const three = new Promise<void>((resolve) => (threeListed = resolve));
  const early = new EarlyRead(runtime, 2, (event) => {
    if (event.type === 'listing' && !event.done && ++listed === 3) threeListed();
  });
  for (let i = 0; i < 3; i++) deliver();
  await three;

  const taken: string[] = [];
  // For each page handed over: whether an immediate set when the page before it was handed over
  // has run since, that is whether the event loop turned between the two.
  const turned: boolean[] = [];
  let immediateRan = true;
  const into = early.into((page) => {
    turned.push(immediateRan);
    immediateRan = false;
    setImmediate(() => (immediateRan = true));
    taken.push(...page.map((a) => a.id));
    // The first kept page handed over: two more arrive while the other kept ones wait their turn.
    if (taken.length === 2) {
      deliver();
      deliver();
    }
    if (taken.length === 10) end();
  });
  await into;
  expect(taken).toEqual(Array.from({ length: 10 }, (_, i) => `a${i + 1}`));
  // The three kept pages were not handed over in one synchronous go: the loop turned between them.
  expect(turned.slice(0, 3)).toEqual([true, true, true]);
});

it("a local source's listing begins as soon as discovery is read, but reads no more than two pages before into() takes them", async () => {
  const { runtime, deliver, end, asked } = scriptedListing();
  const read: number[] = [];
  const early = new EarlyRead(runtime, 2, (event) => (event.type === 'listing' && !event.done ? read.push(event.pages) : undefined), true);
  for (let i = 0; i < 4; i++) deliver();
  end();
  const { capabilities, extensions, schemas } = early.discovery;
  await Promise.all([capabilities, extensions, schemas]);
  // Without the hold the four pages are read in the microtasks after discovery: these turns are more than it takes.
  for (let i = 0; i < 3; i++) await new Promise(setImmediate);
  expect(asked).toEqual({ discovery: 1, listings: 1 });
  expect(read).toEqual([1, 2]);

  const taken: string[] = [];
  await early.into((page) => taken.push(...page.map((a) => a.id)));
  expect(read).toEqual([1, 2, 3, 4]);
  expect(taken).toEqual(Array.from({ length: 8 }, (_, i) => `a${i + 1}`));
});

it('a stopped local listing reads on no further than the page it was held at', async () => {
  const { runtime, deliver, asked } = scriptedListing();
  let read = 0;
  const early = new EarlyRead(runtime, 2, (event) => (event.type === 'listing' && !event.done ? read++ : undefined), true);
  for (let i = 0; i < 4; i++) deliver();
  const { capabilities, extensions, schemas } = early.discovery;
  await Promise.all([capabilities, extensions, schemas]);
  for (let i = 0; i < 3; i++) await new Promise(setImmediate);
  expect(read).toBe(2);
  early.stop();
  for (let i = 0; i < 3; i++) await new Promise(setImmediate);
  expect(asked.listings).toBe(1);
  expect(read).toBe(2);
});

it('a listing of a source that is not local reads its pages as they arrive', async () => {
  const { runtime, deliver, end, asked } = scriptedListing();
  let read = 0;
  const early = new EarlyRead(runtime, 2, (event) => (event.type === 'listing' && !event.done ? read++ : undefined));
  for (let i = 0; i < 4; i++) deliver();
  end();
  const { capabilities, extensions, schemas } = early.discovery;
  await Promise.all([capabilities, extensions, schemas]);
  for (let i = 0; i < 3; i++) await new Promise(setImmediate);
  expect(asked).toEqual({ discovery: 1, listings: 1 });
  expect(read).toBe(4);
  const taken: string[] = [];
  await early.into((page) => taken.push(...page.map((a) => a.id)));
  expect(taken).toHaveLength(8);
});
