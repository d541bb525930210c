/**
 * Range retrieval (AD): an attribute with more values than the server hands out at once (MaxValRange,
 * 1500 by default) comes back as `member;range=0-1499` with the plain `member` empty, and the rest
 * must be asked for, `member;range=1500-*`, until a range ending in `*` arrives. Skipping this reads
 * a big group as 1500 members and everyone else as having left it.
 */
import { SourceError } from '../../errors.js';
import { AttributeList } from './attribute-list.js';
import type { LdapEntry, LdapValue } from './entry.js';

export interface RangeOption {
  /** Attribute name, lowercased, without the range option. */
  readonly attribute: string;
  readonly low: number;
  /** Last index in this chunk; null for `*` (this chunk is the last). */
  readonly high: number | null;
}

/** Parses `member;range=0-1499` / `member;range=1500-*`; null for a name without a range option. */
export function parseRangeOption(name: string): RangeOption | null {
  // Split on ';' rather than one regular expression over the name: that one backtracked over
  // every option before a range, quadratic in their number (a hostile server chooses the names).
  const parts = name.split(';');
  if (parts.length < 2 || parts.includes('')) return null;
  for (let i = 1; i < parts.length; i++) {
    const range = RANGE_OPTION.exec(parts[i]!);
    if (!range) continue;
    const attribute = [...parts.slice(0, i), ...parts.slice(i + 1)].join(';').toLowerCase();
    return { attribute, low: Number(range[1]), high: range[2] === '*' ? null : Number(range[2]) };
  }
  return null;
}

const RANGE_OPTION = /^range=(\d+)-(\d+|\*)$/i;

/** Reads one entry (base scope) with exactly this attribute description requested. */
export type FetchAttribute = (dn: string, attributeDescription: string) => Promise<LdapEntry | null>;

/** Whether any attribute of the entry came back as a range (cheap: checked for every entry). */
export function hasRanges(entry: LdapEntry): boolean {
  // The decoder judged the names once for every entry that shares them.
  if (entry.attributes instanceof AttributeList) return entry.attributes.ranged;
  let ranged = false;
  entry.attributes.forEach((_, name) => {
    ranged ||= name.includes(';range=');
  });
  return ranged;
}

/**
 * The entry with every ranged attribute read to the end and stored under its plain name. Entries
 * without ranged attributes come back as they are, with no request made.
 */
export async function completeRanges(entry: LdapEntry, fetch: FetchAttribute): Promise<LdapEntry> {
  if (!hasRanges(entry)) return entry;
  const ranged = [...entry.attributes.keys()].map((name) => ({ name, range: parseRangeOption(name) })).filter((r) => r.range !== null);
  const attributes = new Map(entry.attributes);
  for (const { name, range } of ranged) {
    const values: LdapValue[] = [...(attributes.get(range!.attribute) ?? []), ...entry.attributes.get(name)!];
    attributes.delete(name);
    let high = range!.high;
    while (high !== null) {
      const next = high + 1;
      const chunk = await fetch(entry.dn, `${range!.attribute};range=${next}-*`);
      const found = chunk ? [...chunk.attributes.entries()].map(([n, v]) => ({ range: parseRangeOption(n), v })).find((c) => c.range?.attribute === range!.attribute) : undefined;
      if (!found || found.range!.low !== next || (found.range!.high !== null && found.range!.high < next)) {
        throw new SourceError(
          `${entry.dn}: range retrieval of ${range!.attribute} stopped at ${next}: the server answered ` +
            (found ? `range ${found.range!.low}-${found.range!.high ?? '*'}` : 'without the attribute'),
        );
      }
      values.push(...found.v);
      high = found.range!.high;
    }
    attributes.set(range!.attribute, values);
  }
  return { dn: entry.dn, attributes };
}
