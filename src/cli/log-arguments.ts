/** The arguments of `scim-sync log` that need checking when they are parsed (small: main.ts loads it eagerly). */
import { InvalidArgumentError } from 'commander';
import { outcomeOf, OUTCOMES } from '../audit/log-query.js';
import { parseDuration } from './duration.js';

/** `--since`/`--until`: an ISO time, or a duration back from now (`2h`, `7d`). */
export function parseInstant(text: string, now = Date.now()): Date {
  if (/^\s*\d{4}-\d\d-\d\d/.test(text)) {
    const time = Date.parse(text);
    if (Number.isNaN(time)) throw new InvalidArgumentError(`"${text}" is not a time (write 2026-11-30T09:00:00Z, or a duration back from now: 2h, 7d)`);
    return new Date(time);
  }
  return new Date(now - parseDuration(text));
}

/** `--status` (repeatable): an outcome, or success / failure / warning. */
export function collectStatus(text: string, previous: string[] = []): string[] {
  if (!outcomeOf(text)) throw new InvalidArgumentError(`one of ${[...OUTCOMES, 'success', 'failure', 'warning'].join(', ')}`);
  return [...previous, text];
}
