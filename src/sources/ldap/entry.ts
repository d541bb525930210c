/**
 * One directory entry as the source sees it: its DN and its attributes by lowercased name (servers
 * answer with their own spelling of a name), every value a list. Values are text, or bytes when they
 * are not UTF-8 or were asked for as binary (search-messages.ts decodes them).
 */
import type { SourceValue } from '../../model/canonical.js';
import { AttributeList, type LdapValue, type Slot } from './attribute-list.js';

export type { LdapValue };

export interface LdapEntry {
  readonly dn: string;
  readonly attributes: ReadonlyMap<string, readonly LdapValue[]>;
}

// Attribute names from the config, lowercased once: toLowerCase makes a new string every time, and
// this runs for every attribute of every person.
const lowercased = new Map<string, string>();

export function lowercase(name: string): string {
  let lower = lowercased.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowercased.size < 1024) lowercased.set(name, lower);
  }
  return lower;
}

const NO_VALUES: readonly LdapValue[] = [];

export function valuesOf(entry: LdapEntry, attribute: string): readonly LdapValue[] {
  return entry.attributes.get(lowercase(attribute)) ?? NO_VALUES;
}

/** The values of a lowercased attribute name as the decoder kept them: a lone text value without a list made for it. */
export function slotOf(entry: LdapEntry, lowercased: string): Slot | undefined {
  const attributes = entry.attributes;
  return attributes instanceof AttributeList ? attributes.slot(lowercased) : attributes.get(lowercased);
}

/** Text of a value: bytes that are not text (a photo, a certificate) travel as base64. */
export function textOf(value: LdapValue): string {
  return typeof value === 'string' ? value : value.toString('base64');
}

/** Whether a text is empty or only whitespace: most values start with a visible ASCII character, which settles it without trimming. */
export function isBlank(text: string): boolean {
  const c = text.charCodeAt(0);
  return c > 0x20 && c < 0x7f ? false : text.trim() === '';
}

/** Non-empty text values of an attribute. */
export function stringsOf(entry: LdapEntry, attribute: string): string[] {
  const slot = slotOf(entry, lowercase(attribute));
  if (typeof slot === 'string') return isBlank(slot) ? [] : [slot];
  return textsOf(slot ?? NO_VALUES);
}

/** The first non-empty text value of an attribute (stringsOf's first), without making the list. */
export function firstStringOf(entry: LdapEntry, attribute: string): string | undefined {
  const slot = slotOf(entry, lowercase(attribute));
  if (typeof slot === 'string') return isBlank(slot) ? undefined : slot;
  return slot === undefined || slot.length === 0 ? undefined : textsOf(slot)[0];
}

/** Non-empty text values of a value list. */
export function textsOf(values: readonly LdapValue[]): string[] {
  // Usually all of them: an exact copy, since it may be kept with the person, and a list grown by push keeps room for 17.
  // A loop, not every(): no closure made for each call (this runs for every multi-valued attribute read).
  let all = true;
  for (let i = 0; i < values.length && all; i++) {
    const v = values[i];
    all = typeof v === 'string' && !isBlank(v);
  }
  if (all) return values.slice() as string[];
  const texts: string[] = [];
  for (const value of values) {
    const text = textOf(value);
    if (!isBlank(text)) texts.push(text);
  }
  return texts;
}

/** A canonical attribute value: null when absent, a string when single, a list when several. */
export function sourceValue(entry: LdapEntry, attribute: string): SourceValue {
  return slotValue(slotOf(entry, lowercase(attribute)));
}

/** sourceValue of values as the decoder kept them (slotOf). */
export function slotValue(slot: Slot | undefined): SourceValue {
  // The common cases, no value or one text value, build nothing: this runs for every attribute of every person.
  if (slot === undefined) return null;
  if (typeof slot === 'string') return isBlank(slot) ? null : slot;
  if (slot.length === 0) return null;
  if (slot.length === 1 && typeof slot[0] === 'string') return isBlank(slot[0]) ? null : slot[0];
  const texts = textsOf(slot);
  if (texts.length === 0) return null;
  return texts.length === 1 ? texts[0]! : texts;
}
