/** The one line past which a stamp from another clock counts as in the future (model/clock-drift.ts). */
import { describe, expect, it } from 'vitest';
import { CLOCK_TOLERANCE_MS, isAheadOfClock } from '../../src/model/clock-drift.js';

describe('isAheadOfClock', () => {
  it('allows clocks five minutes apart, and calls anything further ahead a time in the future', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(CLOCK_TOLERANCE_MS).toBe(5 * 60_000);
    expect(isAheadOfClock(now - 3_600_000, now)).toBe(false);
    expect(isAheadOfClock(now + CLOCK_TOLERANCE_MS, now)).toBe(false);
    expect(isAheadOfClock(now + CLOCK_TOLERANCE_MS + 1, now)).toBe(true);
  });
});
