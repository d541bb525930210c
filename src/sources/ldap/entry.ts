/**
 * One directory entry as the source sees it: its DN and its attributes by lowercased name (servers
 * answer with their own spelling of a name), every value a list. Values are text, or bytes when they
 * are not UTF-8 or were asked for as binary.
 */
import type { SourceValue } from '../../model/canonical.js';

export type LdapValue = string | Buffer;

export interface LdapEntry {
  readonly dn: string;
  readonly attributes: ReadonlyMap<string, readonly LdapValue[]>;
}

/** From ldapts's entry object (`dn` plus a string, Buffer or array per attribute). */
export function toLdapEntry(raw: Record<string, unknown> & { dn: string }): LdapEntry {
  const attributes = new Map<string, LdapValue[]>();
  for (const name in raw) {
    if (name === 'dn') continue;
    const value = raw[name];
    let list: LdapValue[];
    if (typeof value === 'string' || Buffer.isBuffer(value)) list = [value];
    else if (Array.isArray(value) && value.length > 0) list = value as LdapValue[];
    else continue;
    const key = name.toLowerCase();
    const existing = attributes.get(key);
    if (existing) existing.push(...list);
    else attributes.set(key, list);
  }
  return { dn: raw.dn, attributes };
}

export function valuesOf(entry: LdapEntry, attribute: string): readonly LdapValue[] {
  return entry.attributes.get(attribute.toLowerCase()) ?? [];
}

/** Text of a value: bytes that are not text (a photo, a certificate) travel as base64. */
export function textOf(value: LdapValue): string {
  return typeof value === 'string' ? value : value.toString('base64');
}

/** Non-empty text values of an attribute. */
export function stringsOf(entry: LdapEntry, attribute: string): string[] {
  return valuesOf(entry, attribute)
    .map(textOf)
    .filter((v) => v.trim() !== '');
}

/** A canonical attribute value: null when absent, a string when single, a list when several. */
export function sourceValue(entry: LdapEntry, attribute: string): SourceValue {
  const values = valuesOf(entry, attribute);
  // The common case, one text value, without building lists: this runs for every attribute of every person.
  if (values.length === 1 && typeof values[0] === 'string') return values[0].trim() === '' ? null : values[0];
  const texts = stringsOf(entry, attribute);
  if (texts.length === 0) return null;
  return texts.length === 1 ? texts[0]! : texts;
}
