/**
 * The safety window (service/deprovision-window.ts): deprovisions of a request's earlier parts count
 * for that request once out of the window, and are not counted twice within it.
 */
import { describe, expect, it } from 'vitest';
import { DeprovisionWindow, type WindowEntry } from '../../src/service/deprovision-window.js';

describe('DeprovisionWindow', () => {
  it("counts a request's earlier deprovisions however old, each once", () => {
    const window = new DeprovisionWindow(60 * 60_000);
    const now = new Date('2026-03-02T12:00:00Z');
    const old: WindowEntry = { target: 'app', count: 40, at: new Date(now.getTime() - 90 * 60_000) };
    const fresh: WindowEntry = { target: 'app', count: 5, at: new Date(now.getTime() - 10 * 60_000) };
    for (const e of [old, fresh]) window.add(e.target, e.count, e.at);
    window.add('app', 2, new Date(now.getTime() - 5 * 60_000));
    expect(window.recent(now)).toEqual({ byTarget: new Map([['app', 7]]), window: 'the last 60 minutes' });
    expect(window.recent(now, [old, fresh])).toEqual({ byTarget: new Map([['app', 47]]), window: 'the last 60 minutes and earlier parts of this request' });
  });
});
