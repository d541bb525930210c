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
  for (const [name, value] of Object.entries(raw)) {
    if (name === 'dn') continue;
    const list = (Array.isArray(value) ? value : [value]).filter((v): v is LdapValue => typeof v === 'string' || Buffer.isBuffer(v));
    if (list.length === 0) continue;
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
  const values = stringsOf(entry, attribute);
  if (values.length === 0) return null;
  return values.length === 1 ? values[0]! : values;
}
