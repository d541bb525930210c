/**
 * One person entry -> a canonical user, or the reason it cannot be one. Pure: the AD rules
 * (objectGUID, userAccountControl) are tested here without a domain controller.
 */
import type { SourceIssueCode, SourceValue } from '../../model/canonical.js';
import { formatKey as formatKeyValue } from './binary-key.js';
import { AttributeList } from './attribute-list.js';
import { lowercase, slotOf, slotValue, stringsOf, type LdapEntry, type LdapValue } from './entry.js';
import { plainRecordMaker } from '../../model/plain-records.js';
import type { DisabledSetting, KeySetting } from './flavor-defaults.js';

/** userAccountControl flag ACCOUNTDISABLE. */
const ACCOUNTDISABLE = 0x2;

/** True/false for a userAccountControl value, null when it is not a number. */
export function uacDisabled(value: string): boolean | null {
  // AD sends it as a decimal string; a signed 32-bit value may come back negative.
  if (!/^-?\d+$/.test(value.trim())) return null;
  return (Number(value.trim()) & ACCOUNTDISABLE) !== 0;
}

export type KeyResult = { key: string } | { code: SourceIssueCode; message: string };

function formatKey(value: LdapValue, format: KeySetting['format'], attribute: string): KeyResult {
  const result = formatKeyValue(value, format);
  if ('error' in result) return { code: 'LDAP_BAD_KEY', message: `${attribute} is not a ${format} key: ${result.error}` };
  return result;
}

/** The entry's immutable key per the key setting. */
export function entryKey(entry: LdapEntry, setting: KeySetting): KeyResult {
  const slot = slotOf(entry, lowercase(setting.attribute));
  if (typeof slot === 'string') return formatKey(slot, setting.format, setting.attribute);
  const values = slot ?? [];
  if (values.length === 0) return { code: 'LDAP_MISSING_KEY', message: `no ${setting.attribute}: the entry has no key and cannot be synced` };
  if (values.length > 1) return { code: 'LDAP_AMBIGUOUS_KEY', message: `${setting.attribute} has ${values.length} values; a key must have one` };
  return formatKey(values[0]!, setting.format, setting.attribute);
}

// The lowercased set of each rule's values, made once rather than for every person.
const lowercasedValues = new WeakMap<readonly string[], ReadonlySet<string>>();

function disabledValues(values: readonly string[]): ReadonlySet<string> {
  let set = lowercasedValues.get(values);
  if (!set) lowercasedValues.set(values, (set = new Set(values.map((v) => v.toLowerCase()))));
  return set;
}

export type ActiveResult = { readonly active: boolean } | { code: SourceIssueCode; message: string };

// The two answers almost every person gets, made once: this runs for every person read.
const ACTIVE: ActiveResult = { active: true };
const INACTIVE: ActiveResult = { active: false };

/** Whether the person is active; `disabledByFilter` says whether the entry matched disabled.filter. */
export function entryActive(entry: LdapEntry, rule: DisabledSetting | undefined, disabledByFilter: boolean): ActiveResult {
  if (!rule) return ACTIVE;
  if (disabledByFilter) return INACTIVE;
  if (rule.userAccountControl) {
    const uac = stringsOf(entry, 'userAccountControl');
    // Every AD account has one: absent, the reading account may not read it, and a disabled account
    // (every leaver kept disabled) would read as active and be re-enabled in every app.
    if (uac.length === 0) {
      return { code: 'LDAP_MISSING_USER_ACCOUNT_CONTROL', message: 'no userAccountControl (may the reading account read it?): whether the account is disabled is unknown' };
    }
    const disabled = uacDisabled(uac[0]!);
    if (disabled === null) return { code: 'LDAP_BAD_USER_ACCOUNT_CONTROL', message: `userAccountControl "${uac[0]}" is not a number` };
    if (disabled) return INACTIVE;
  }
  if (rule.attribute) {
    const values = stringsOf(entry, rule.attribute);
    if (rule.values) {
      const wanted = disabledValues(rule.values);
      if (values.some((v) => wanted.has(v.toLowerCase()))) return INACTIVE;
    } else if (values.length > 0) {
      return INACTIVE;
    }
  }
  return ACTIVE;
}

interface AttributeLayout {
  /** [canonical name, lowercased LDAP name] pairs. */
  readonly pairs: readonly (readonly [string, string])[];
  /** Each person's attributes object, given every pair's name in the same order below: one shape for all (model/plain-records.ts). */
  readonly make: () => Record<string, SourceValue>;
  /** Where each pair's LDAP name stands (-1: absent) in the last names array the decoder shared among entries. */
  names: readonly string[] | null;
  positions: number[];
  /** The same for each names array met (a search's entries have a few layouts, see AttributeNames). */
  readonly known: WeakMap<readonly string[], number[]>;
}

// Made once per attribute map rather than once per person.
const layouts = new WeakMap<ReadonlyMap<string, string>, AttributeLayout>();

function layoutOf(map: ReadonlyMap<string, string>): AttributeLayout {
  let layout = layouts.get(map);
  if (!layout) {
    const pairs = [...map].map(([canonical, ldap]) => [canonical, ldap.toLowerCase()] as const);
    layout = { pairs, make: plainRecordMaker<SourceValue>(), names: null, positions: [], known: new WeakMap() };
    layouts.set(map, layout);
  }
  return layout;
}

/** Canonical attributes from the attribute map (canonical name -> LDAP attribute). */
export function entryAttributes(entry: LdapEntry, map: ReadonlyMap<string, string>): Record<string, SourceValue> {
  const layout = layoutOf(map);
  const { pairs } = layout;
  const attributes = layout.make();
  const list = entry.attributes;
  if (list instanceof AttributeList) {
    // The entries of one layout share one names array: each name is looked for once for them all.
    if (layout.names !== list.names) {
      layout.names = list.names;
      let found = layout.known.get(list.names);
      if (!found) {
        // Grown by push, not made by map(): with map() the optimised mapping of every person was
        // thrown away (deoptimised, wrong map) the first time the layout changed after it was
        // compiled, and compiled again (seen with --trace-deopt).
        found = [];
        for (const [, ldap] of pairs) found.push(list.names.indexOf(ldap));
        layout.known.set(list.names, found);
      }
      layout.positions = found;
    }
    const positions = layout.positions;
    for (let i = 0; i < pairs.length; i++) attributes[pairs[i]![0]] = positions[i]! < 0 ? null : slotValue(list.slotAt(positions[i]!));
    return attributes;
  }
  for (let i = 0; i < pairs.length; i++) attributes[pairs[i]![0]] = slotValue(slotOf(entry, pairs[i]![1]));
  return attributes;
}
