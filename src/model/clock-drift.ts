/**
 * When a time stamped by another clock (a server's, an earlier run's, a hand-edited state file's)
 * counts as lying in the future. Two clocks a little apart are not worth a warning (Kerberos allows
 * 5 minutes); beyond that the stamp was not made by a clock that agrees with this one, and code
 * that waits for it to pass would wait on a mistake. One rule, so every check that meets such a
 * stamp draws the line in the same place.
 */

/** How far (ms) a time may lie ahead of this machine's clock before it is called a time in the future. */
export const CLOCK_TOLERANCE_MS = 5 * 60_000;

/** Whether `time` lies further ahead of `now` than clocks differ (both ms since the epoch). */
export function isAheadOfClock(time: number, now: number): boolean {
  return time > now + CLOCK_TOLERANCE_MS;
}
