/**
 * Pages asked for ahead of a listing: how many go out at once, when the next is asked for, the
 * bound on bytes held, and what a moved listing, a failure or the end drops. The answers come
 * when the test says (the asking order is the point); paging.test.ts lists real servers.
 */
import { expect, it } from 'vitest';
import { HeldBytes, PagesAhead } from '../../src/targets/http/pages-ahead.js';

/** An `ask` whose answers the test gives: `answer(at)` settles the request at `at` with `size` bytes (or `bytes`). */
function scripted(size = 10) {
  const asked: number[] = [];
  const pending = new Map<number, { resolve: (a: { at: number; size: number }) => void; reject: (e: Error) => void }>();
  const ask = (at: number) =>
    new Promise<{ at: number; size: number }>((resolve, reject) => {
      asked.push(at);
      pending.set(at, { resolve, reject });
    });
  const answer = async (at: number, bytes = size) => {
    pending.get(at)!.resolve({ at, size: bytes });
    pending.delete(at);
    // The bookkeeping runs in the answer's reaction.
    await Promise.resolve();
    await Promise.resolve();
  };
  const fail = async (at: number) => {
    pending.get(at)!.reject(new Error(`page ${at} failed`));
    await Promise.resolve();
    await Promise.resolve();
  };
  return { ask, answer, fail, asked };
}

it('asks for as many pages as it may have in flight, on the grid, below the end, and the next as each answer arrives', async () => {
  const { ask, answer, asked } = scripted();
  const ahead = new PagesAhead(ask, 3, new HeldBytes(1_000));
  ahead.from(201, 100, 801, 0);
  expect(asked).toEqual([201, 301, 401]);
  await answer(301);
  expect(asked).toEqual([201, 301, 401, 501]);
  expect(ahead.arrived(301)).toBe(true);
  expect(ahead.arrived(201)).toBe(false);
  await answer(201);
  await answer(401);
  await answer(501);
  // 801 is past the end: 601 and 701 are the last.
  expect(asked).toEqual([201, 301, 401, 501, 601, 701]);
  await expect(ahead.take(201)).resolves.toEqual({ at: 201, size: 10 });
  expect(ahead.take(201)).toBeUndefined();
  // The listing moves on along the grid: nothing is asked for twice.
  ahead.from(301, 100, 801, 0);
  expect(asked).toEqual([201, 301, 401, 501, 601, 701]);
});

it('holds no more than its bound in bytes, and asks for the next once a held page is read', async () => {
  const { ask, answer, asked } = scripted(100);
  const ahead = new PagesAhead(ask, 2, new HeldBytes(250));
  ahead.from(1, 10, 1_000, 0);
  await answer(1);
  await answer(11);
  await answer(21);
  // 300 bytes held: past the bound, nothing more is asked for, however many connections are free.
  expect(asked).toEqual([1, 11, 21, 31]);
  await answer(31);
  expect(asked).toEqual([1, 11, 21, 31]);
  await ahead.take(1);
  expect(asked).toEqual([1, 11, 21, 31]);
  await ahead.take(11);
  // 200 bytes held now: room again, as many as the connections allow (bytes in flight are not counted).
  expect(asked).toEqual([1, 11, 21, 31, 41, 51]);
});

it('a listing moved off the grid (a short page) drops the pages it can no longer reach, and their bytes, and asks from where it is', async () => {
  const { ask, answer, asked } = scripted(100);
  const ahead = new PagesAhead(ask, 2, new HeldBytes(150));
  ahead.from(101, 100, 1_000, 0);
  await answer(101);
  await answer(201);
  await answer(301);
  expect(asked).toEqual([101, 201, 301]);
  await ahead.take(101);
  // 200 bytes held (201, 301): nothing more.
  expect(asked).toEqual([101, 201, 301]);
  // Page 101 held 60: the next begins at 161, and 201 and 301 are never read.
  ahead.from(161, 100, 1_000, 0);
  expect(ahead.take(201)).toBeUndefined();
  expect(ahead.arrived(301)).toBe(false);
  // Their bytes no longer count: 161 and 261 go out at once.
  expect(asked).toEqual([101, 201, 301, 161, 261]);
});

it('a page the listing asks for itself (none was free to ask ahead) is not asked for ahead as well', async () => {
  const { ask, answer, asked } = scripted();
  const ahead = new PagesAhead(ask, 1, new HeldBytes(1_000));
  ahead.from(1, 10, 100, 0);
  // A short page: the listing goes on at 5, while the request at 1 still holds the one connection.
  ahead.from(5, 10, 100, 0);
  expect(ahead.take(5)).toBeUndefined();
  await answer(1);
  expect(asked).toEqual([1, 15]);
});

it('after an answer under half the size of a page read, nothing more is asked for until the listing reads on past it', async () => {
  const { ask, answer, asked } = scripted(100);
  const ahead = new PagesAhead(ask, 2, new HeldBytes(10_000));
  // The server says 1,000 exist; the listing has read a page of 100 bytes.
  ahead.from(21, 10, 1_001, 100);
  expect(asked).toEqual([21, 31]);
  // A small answer at 21, as an empty page at the real end would be: nothing more is asked for,
  // though a connection is free and the server claims 1,000.
  await answer(21, 30);
  await answer(31, 30);
  expect(asked).toEqual([21, 31]);
  // It was not the end after all: the listing read 21 (a full count in few bytes) and goes on.
  await ahead.take(21);
  ahead.from(31, 10, 1_001, 30);
  expect(asked).toEqual([21, 31, 41, 51]);
});

it("a failure asks for nothing more, and is the listing's when it reaches that page", async () => {
  const { ask, answer, fail, asked } = scripted();
  const ahead = new PagesAhead(ask, 2, new HeldBytes(1_000));
  ahead.from(1, 10, 1_000, 0);
  await fail(1);
  await answer(11);
  expect(asked).toEqual([1, 11]);
  await expect(ahead.take(1)).rejects.toThrow('page 1 failed');
});

it('closed, it asks for nothing more and drops what it held', async () => {
  const { ask, answer, asked } = scripted();
  const ahead = new PagesAhead(ask, 2, new HeldBytes(1_000));
  ahead.from(1, 10, 1_000, 0);
  await answer(1);
  ahead.close();
  await answer(11);
  expect(asked).toEqual([1, 11, 21]);
  expect(ahead.take(1)).toBeUndefined();
});

it('listings that share a HeldBytes share its bound, and one closed gives its bytes back', async () => {
  const held = new HeldBytes(250);
  const one = scripted(100);
  const other = scripted(100);
  const first = new PagesAhead(one.ask, 2, held);
  const second = new PagesAhead(other.ask, 2, held);
  first.from(1, 10, 1_000, 0);
  await one.answer(1);
  await one.answer(11);
  await one.answer(21);
  expect(held.bytes).toBe(300);
  // The first listing holds the bound: the second asks for nothing ahead.
  second.from(1, 10, 1_000, 0);
  expect(other.asked).toEqual([]);
  await one.answer(31);
  first.close();
  expect(held.bytes).toBe(0);
  // Room again: the second's next step asks ahead.
  second.from(1, 10, 1_000, 0);
  expect(other.asked).toEqual([1, 11]);
});
