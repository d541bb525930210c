/**
 * The pages a listing brought while the source was read are handed over in listing order, one per
 * turn of the event loop, and pages that arrive during the hand-over follow them, not jump ahead.
 * The listing's client is one whose pages arrive when the test says (the order is the point, and
 * a server's timing could not force a page into the hand-over); target-reads.test.ts reads real
 * servers. A listing told to wait (after a local source's read) asks for no page before it may.
 */
import { expect, it } from 'vitest';
import { EarlyRead } from '../../src/engine/early-listing.js';
import type { TargetRuntime } from '../../src/execution/executor.js';
import { DEFAULT_CAPABILITIES } from '../../src/targets/http/capabilities.js';
import type { ServerResource } from '../../src/model/scim.js';

/** A listing whose pages arrive as `deliver` is called; `end` ends it. */
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
    async *pages() {
      asked.listings++;
      for (let page = await next(); page !== null; page = await next()) yield page;
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

it('a listing given listAfter asks for no page until it resolves; discovery goes out at once', async () => {
  const { runtime, deliver, end, asked } = scriptedListing();
  let sourceRead!: () => void;
  const early = new EarlyRead(runtime, 2, undefined, new Promise<void>((resolve) => (sourceRead = resolve)));
  const { capabilities, extensions, schemas } = early.discovery;
  await Promise.all([capabilities, extensions, schemas]);
  // Without listAfter the listing is asked for in the microtasks after discovery: these turns are more than it takes.
  for (let i = 0; i < 3; i++) await new Promise(setImmediate);
  expect(asked).toEqual({ discovery: 1, listings: 0 });

  sourceRead();
  deliver();
  end();
  const taken: string[] = [];
  await early.into((page) => taken.push(...page.map((a) => a.id)));
  expect(asked).toEqual({ discovery: 1, listings: 1 });
  expect(taken).toEqual(['a1', 'a2']);
});

it('a listing without listAfter begins as soon as discovery is read', async () => {
  const { runtime, end, asked } = scriptedListing();
  const early = new EarlyRead(runtime, 2, undefined);
  const { capabilities, extensions, schemas } = early.discovery;
  await Promise.all([capabilities, extensions, schemas]);
  for (let i = 0; i < 3; i++) await new Promise(setImmediate);
  expect(asked).toEqual({ discovery: 1, listings: 1 });
  end();
  await early.into(() => undefined);
});
