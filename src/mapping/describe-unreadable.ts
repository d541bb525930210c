/**
 * How a message names the values an expression could not read (a scope condition's unknown
 * verdict, a mapping value kept as the account has it), without quoting a value that is redacted.
 */
import type { CanonicalUser } from '../model/canonical.js';
import type { Unreadable } from './expression/index.js';
import { listOf } from './expression/values.js';

/** What the log writes for a redacted value (audit/redact-attributes.ts REDACTED; audit sits above mapping). */
const REDACTED = '[redacted]';

/** At most this many characters of a value are quoted in a message. */
const QUOTED = 40;

function quote(value: string): string {
  return JSON.stringify(value.length > QUOTED ? `${value.slice(0, QUOTED)}…` : value);
}

/**
 * `title "31.12.2027" as an ISO date`: each unreadable value named by the attributes of the person
 * that hold it; "[redacted]" for the value of a masked one, or of one computed from a masked one.
 */
export function describeUnreadable(unreadable: readonly Unreadable[], attributes: CanonicalUser['attributes'], reads: readonly string[], masked: ReadonlySet<string>): string {
  const said = new Set<string>();
  for (const u of unreadable) {
    const from = reads.filter((name) => listOf(attributes[name]).includes(u.value));
    const hidden = (from.length > 0 ? from : reads).some((name) => masked.has(name));
    said.add(`${from.length > 0 ? `${from.join(', ')} ` : ''}${hidden ? REDACTED : quote(u.value)} as ${u.as}`);
  }
  return [...said].join(', ');
}
