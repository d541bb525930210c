/** targets.<name>.writeChecks: whether scim-sync reads back what it wrote, and when it stops resending a change. */
import * as z from 'zod';
import { positiveInt } from './numbers.js';

export const writeChecks = z
  .object({
    verify: z
      .enum(['off', 'learn', 'always'])
      .default('learn')
      .describe(
        'learn: the first update of each attribute in a run is compared with what the server kept (its answer, or one GET when the answer ' +
          'has no body and the attribute has not been checked on this target before); a change not kept is tried in the other PATCH shapes ' +
          'and the one that works is remembered. always: every update is read back (one GET each when answers have no body). off: never. Default learn.',
      ),
    parkAfterRuns: positiveInt
      .max(100)
      .default(3)
      .describe(
        'An update the server refuses with a final error (400, or a 5xx with a scimType) in this many runs in a row is parked: not sent ' +
          'again until its source value changes or `run --retry-parked`. A change the server does not keep in any PATCH shape is parked at once. Default 3 (runs).',
      ),
  })
  .strict();
