/**
 * How many people the last applied full read of the source held, as the provisioning log remembers
 * it (the `sourcePeople` of a cycle's or a saved plan's `apply.start`). The change-driven path
 * judges a whole read taken for a few people (a CSV) against it, asking for each batch: kept in
 * memory, a restarted service had nothing to compare a half-written export with until its first
 * full cycle, and one whose full cycles run from cron compared with a size that grew stale. The
 * search reads the log from its end and stops at the newest such record.
 */
import { searchLog } from '../audit/search-log.js';
import { describeError } from '../errors.js';

const UNTIL_ONE =
  'until a full cycle is applied, a change-driven sync holds the deprovisions of a batch that a whole source read misses someone of';

/** Undefined, with a warning when it says something, when none is found or the log cannot be read. */
export async function lastFullRead(file: string, warn: (line: string) => void): Promise<number | undefined> {
  try {
    const { records, exhaustive } = await searchLog(
      file,
      // None read is nothing to judge by (a run that overrode the outage rule).
      (r) => r.action === 'apply.start' && Number.isSafeInteger(r.sourcePeople) && r.sourcePeople! > 0,
      { limit: 1, maxBytes: 64 * 1024 * 1024 },
    );
    const found = records[0]?.sourcePeople;
    if (found === undefined && !exhaustive) warn(`no applied full cycle was found in the newest 64 MiB of the provisioning log: ${UNTIL_ONE}`);
    return found;
  } catch (error) {
    warn(`the provisioning log could not be read for the size of the last full source read (${describeError(error)}): ${UNTIL_ONE}`);
    return undefined;
  }
}
