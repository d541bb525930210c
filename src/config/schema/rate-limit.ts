/** A request budget, of a target or of its profile. */
import * as z from 'zod';
import { positiveInt } from './numbers.js';

export const rateLimit = z
  .object({
    requests: positiveInt.describe('Requests allowed in any window of perMs.'),
    perMs: positiveInt.describe('Window length in milliseconds, e.g. 1000 or 60000.'),
  })
  .strict();
