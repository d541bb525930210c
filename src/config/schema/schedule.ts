/** `schedule`: the cycles `scim-sync schedule` starts. */
import { createRequire } from 'node:module';
import * as z from 'zod';

// cron-parser (and the date library it brings) is loaded only for a config that has a schedule:
// every command validates the whole config, and most never schedule anything.
const requireLazily = createRequire(import.meta.url);

function validCron(expression: string): boolean {
  try {
    (requireLazily('cron-parser') as typeof import('cron-parser')).parseExpression(expression);
    return true;
  } catch {
    return false;
  }
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const schedule = z
  .object({
    cron: z
      .string()
      .refine(validCron, { message: 'not a cron expression (minute hour day-of-month month day-of-week, e.g. "*/30 * * * *")' })
      .describe('When `scim-sync schedule` starts a cycle: a cron expression, e.g. "*/30 * * * *" (every 30 minutes).'),
    timezone: z
      .string()
      .refine(validTimeZone, { message: 'not an IANA time zone (e.g. Europe/Paris, UTC)' })
      .optional()
      .describe("IANA time zone the cron expression is read in, e.g. Europe/Paris. Default the host's."),
    jitterMs: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('Each cycle starts after a random delay up to this, so many installations do not hit an app at once. Default 0 ms.'),
  })
  .strict();
