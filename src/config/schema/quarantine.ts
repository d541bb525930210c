/** `quarantine`: when a failing target is set aside, and when it is tried again. */
import * as z from 'zod';
import { duration, percent, positiveInt } from './numbers.js';

export const quarantine = z
  .object({
    enabled: z.boolean().default(true).describe('Quarantine targets whose cycle fails (see below). Default true.'),
    failurePercent: percent
      .default(40)
      .describe("Quarantine a target when more than this share of its operations failed in one cycle. Default 40 (%)."),
    minOperations: positiveInt
      .default(10)
      .describe('The failure share counts only when at least this many operations ran against the target. Default 10.'),
    backoff: z
      .array(duration)
      .min(1)
      .prefault(['6h', '12h', '24h'])
      .describe('Waits before each new try of a quarantined target; the last one repeats. Default [6h, 12h, 24h].'),
  })
  .strict();
