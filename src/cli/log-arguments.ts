/** The arguments of `scim-sync log` that need checking when they are parsed (small: main.ts loads it eagerly). */
import { InvalidArgumentError } from 'commander';
import { AUDIT_ACTIONS } from '../audit/audit-sink.js';
import { outcomeOf, OUTCOMES } from '../audit/log-query.js';
import { nearestName } from '../config/nearest-name.js';
import { parseDuration } from './duration.js';

/**
 * An ISO date, or date and time (`T` or a space between), with an optional offset (`Z`, `+02:00`,
 * `+0200`). Groups: date, time, offset.
 */
const ISO_TIME = /^\s*(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?))?\s*(Z|[+-]\d\d:?\d\d)?\s*$/i;

/**
 * `--since`/`--until`: an ISO time, or a duration back from now (`2h`, `7d`). A time without an
 * offset is UTC, as `log` prints every time, whatever the machine's zone: a time copied from its
 * output finds the record it was copied from.
 */
export function parseInstant(text: string, now = Date.now()): Date {
  if (/^\s*\d{4}-\d\d-\d\d/.test(text)) {
    const m = ISO_TIME.exec(text);
    const offset = m?.[3]?.toUpperCase().replace(/^([+-]\d\d)(\d\d)$/, '$1:$2') ?? 'Z';
    const time = m ? Date.parse(`${m[1]}T${(m[2] ?? '00:00').replace(',', '.')}${offset}`) : Number.NaN;
    if (Number.isNaN(time)) throw new InvalidArgumentError(`"${text}" is not a time (write 2026-11-30T09:00:00Z, or a duration back from now: 2h, 7d)`);
    return new Date(time);
  }
  try {
    return new Date(now - parseDuration(text));
  } catch {
    throw new InvalidArgumentError(`"${text}" is neither a time nor a duration back from now (write 2026-11-30T09:00:00Z, or 2h, 7d)`);
  }
}

/** `--action` (repeatable): an action records have, matched without case as the query does. */
export function collectAction(text: string, previous: string[] = []): string[] {
  if (!AUDIT_ACTIONS.some((a) => a.toLowerCase() === text.toLowerCase())) {
    const near = nearestName(text, AUDIT_ACTIONS);
    throw new InvalidArgumentError(`no record has the action "${text}"${near ? `; did you mean ${near}?` : ''} (actions: ${AUDIT_ACTIONS.join(', ')})`);
  }
  return [...previous, text];
}

/** `--status` (repeatable): an outcome, or success / failure / warning. */
export function collectStatus(text: string, previous: string[] = []): string[] {
  if (!outcomeOf(text)) throw new InvalidArgumentError(`one of ${[...OUTCOMES, 'success', 'failure', 'warning'].join(', ')}`);
  return [...previous, text];
}
