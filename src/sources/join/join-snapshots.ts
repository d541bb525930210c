/**
 * Several sources' reads as one directory: pure, no I/O (joined-source.ts reads). The primary
 * decides who exists and keeps its keys (externalId); each secondary's records are matched to its
 * people on a pair of attributes and lend their values by precedence.
 *
 * Contract of the result:
 * - users: the primary's people, each with the attributes of every source that has them (by
 *   precedence), `active`, `managerKey` and `ref` of the primary (a manager only a secondary knows is
 *   taken when it is joined to a person of the primary, and is unknown, undefined, where that
 *   secondary's record of either may be the one missing: see lentManager);
 * - a person with no record in a secondary (or no value to join it on) has the others' values, and
 *   is in partialKeys: what the secondary would lend is unknown, so no value of their account is
 *   cleared (their phone would be emptied in every app) nor are they deprovisioned by a scope that
 *   may need it; counted in one warning per secondary with the first keys, never one line per person; but
 *   when that secondary rejected or held records, such a person is held (the rejected record may be
 *   theirs), and so is a person whose record the secondary holds;
 * - two people the join gives one userName are held, an issue each;
 * - a join value shared by several records of a secondary, or by several people of the primary, is
 *   ambiguous: those people are not guessed at but held (an issue each, their keys in heldKeys, so
 *   the planner neither updates nor deprovisions them);
 * - records of a secondary that match no person are ignored, counted in a warning;
 * - groups: those of the sources `groups` names, a secondary's members mapped to the primary people
 *   they are joined to (the others left out, counted);
 * - a secondary missing more than its maxMissingPercent of the people fails the join (SourceError):
 *   an outage or a wrong join attribute, not that many people without a record;
 * - issues, warnings, recordsRead: every source's (a bad record anywhere counts against the safety
 *   threshold), each message prefixed with its source's name; heldKeys: the primary's, the
 *   ambiguous people, and what a secondary whose groups are taken holds (a group only its rejected
 *   records name).
 */
import { foldUserName } from '../../model/user-name.js';
import { plainRecordMaker } from '../../model/plain-records.js';
import { SourceError } from '../../errors.js';
import type { CanonicalGroup, CanonicalUser, DirectorySnapshot, SourceIssue, SourceValue } from '../../model/canonical.js';
import { joined as joinedLists, mapKept } from '../../model/joined-lists.js';

export interface JoinSpec {
  readonly primary: string;
  /** In the order written: the default precedence after the primary. */
  readonly secondaries: readonly { readonly name: string; readonly on: readonly [primary: string, secondary: string]; readonly maxMissingPercent: number }[];
  /** Attribute -> sources asked in this order; the primary is appended when not listed. */
  readonly precedence: Readonly<Record<string, readonly string[]>>;
  /** Sources whose groups are taken, first listed first. */
  readonly groups: readonly string[];
  readonly keyCase: 'ignore' | 'exact';
}

export interface JoinOptions {
  readonly description: string;
}

/** Keys named in one warning before the rest are counted. */
export const SAMPLE_KEYS = 20;

function sample(keys: readonly string[]): string {
  const shown = keys.slice(0, SAMPLE_KEYS).join(', ');
  return keys.length > SAMPLE_KEYS ? `${shown} and ${keys.length - SAMPLE_KEYS} more` : shown;
}

function isEmpty(value: SourceValue | undefined): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.every((v) => v.trim() === '');
  return value.trim() === '';
}

type JoinValue = { value: string } | { none: true } | { several: true };
const NONE: JoinValue = { none: true };

/** The comparable form of a join attribute's value: trimmed, NFC, lower case unless exact. */
function joinValue(value: SourceValue | undefined, keyCase: JoinSpec['keyCase']): JoinValue {
  if (typeof value === 'string') {
    // One value, the common case, without the set.
    const text = value.normalize('NFC').trim();
    return text === '' ? NONE : { value: keyCase === 'ignore' ? text.toLowerCase() : text };
  }
  const values = new Set<string>();
  for (const v of value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]) {
    const text = v.normalize('NFC').trim();
    if (text !== '') values.add(keyCase === 'ignore' ? text.toLowerCase() : text);
  }
  if (values.size === 0) return NONE;
  if (values.size > 1) return { several: true };
  return { value: [...values][0]! };
}

function prefixed(name: string, issues: readonly SourceIssue[]): SourceIssue[] {
  return issues.map((i) => ({ ...i, message: `${name}: ${i.message}` }));
}

interface SecondaryState {
  readonly name: string;
  readonly on: readonly [string, string];
  readonly maxMissingPercent: number;
  readonly snapshot: DirectorySnapshot;
  /** Join value -> the records holding it. */
  readonly index: Map<string, CanonicalUser[]>;
  /** Records with no single join value. */
  readonly unkeyed: number;
  /** Its own held keys: records it could not read cleanly (a duplicate key, say). */
  readonly held: ReadonlySet<string>;
  /** It rejected or held records: a person missing from it may be one of those. */
  readonly dirty: boolean;
  /** The secondary's record key -> the primary person joined to it. */
  readonly toPrimary: Map<string, string>;
  readonly missing: string[];
  readonly noValue: string[];
  /** People held because their record is held by this secondary. */
  readonly heldRecord: string[];
  /** Keys of its records, when it names managers (some record has a manager column, empty or not). */
  readonly managers: ReadonlySet<string> | null;
}

export function joinSnapshots(spec: JoinSpec, snapshots: ReadonlyMap<string, DirectorySnapshot>, options: JoinOptions): DirectorySnapshot {
  const read = (name: string) => {
    const snapshot = snapshots.get(name);
    if (!snapshot) throw new Error(`join: no read of source ${name}`); // a caller's bug: joined-source.ts reads every source
    return snapshot;
  };
  const primary = read(spec.primary);
  const issues: SourceIssue[] = [];
  const warnings: SourceIssue[] = [];
  const held = new Set(primary.heldKeys);

  const secondaries: SecondaryState[] = spec.secondaries.map(({ name, on, maxMissingPercent }) => {
    const snapshot = read(name);
    const index = new Map<string, CanonicalUser[]>();
    let unkeyed = 0;
    for (const record of snapshot.users) {
      const v = joinValue(record.attributes[on[1]], spec.keyCase);
      if (!('value' in v)) {
        unkeyed++;
        continue;
      }
      const same = index.get(v.value);
      if (same) same.push(record);
      else index.set(v.value, [record]);
    }
    const dirty = snapshot.issues.length > 0 || snapshot.heldKeys.length > 0;
    const managers = snapshot.users.some((r) => r.managerKey !== undefined) ? new Set(snapshot.users.map((r) => r.key)) : null;
    return { name, on, maxMissingPercent, snapshot, index, unkeyed, held: new Set(snapshot.heldKeys), dirty, toPrimary: new Map(), missing: [], noValue: [], heldRecord: [], managers };
  });

  // Each person's value per secondary, and how many people share each value: two people on one
  // value would both take one record's values.
  const values = primary.users.map((u) => secondaries.map((s) => joinValue(u.attributes[s.on[0]], spec.keyCase)));
  const sharing = secondaries.map((_s, i) => {
    const count = new Map<string, number>();
    for (const v of values) {
      const mine = v[i]!;
      if ('value' in mine) count.set(mine.value, (count.get(mine.value) ?? 0) + 1);
    }
    return count;
  });

  // Pass 1: each person's records, so that pass 2 can map a secondary's manager keys and members.
  const joined: { user: CanonicalUser; records: Map<string, CanonicalUser> }[] = [];
  primary.users.forEach((user, u) => {
    const records = new Map<string, CanonicalUser>([[spec.primary, user]]);
    const ambiguous: string[] = [];
    let heldBySecondary = false;
    secondaries.forEach((s, i) => {
      const v = values[u]![i]!;
      if ('several' in v) return void ambiguous.push(`it has several ${s.on[0]} values to join ${s.name} on`);
      if ('none' in v) return void s.noValue.push(user.key);
      const matches = s.index.get(v.value) ?? [];
      const sharers = sharing[i]!.get(v.value) ?? 0;
      if (sharers > 1) return void ambiguous.push(`${sharers} people of ${spec.primary} have ${s.on[0]} "${v.value}" to join ${s.name} on`);
      if (matches.length > 1) return void ambiguous.push(`${matches.length} records of ${s.name} have ${s.on[1]} "${v.value}" (${matches.map((m) => m.ref.location).join(', ')})`);
      if (matches.length === 0) {
        s.missing.push(user.key);
        // Missing from a read that rejected records: theirs may be one of those, and what the secondary
        // lends would be cleared rather than kept. Held, as a dirty read holds whom it did not return.
        heldBySecondary ||= s.dirty;
        return;
      }
      if (s.held.has(matches[0]!.key)) {
        s.heldRecord.push(user.key);
        heldBySecondary = true;
        return;
      }
      records.set(s.name, matches[0]!);
    });
    if (ambiguous.length > 0) {
      issues.push({ code: 'JOIN_AMBIGUOUS', message: `${spec.primary}: ${user.key} is held, not joined: ${ambiguous.join('; ')}`, ref: user.ref });
      held.add(user.key);
      return;
    }
    if (heldBySecondary) {
      held.add(user.key);
      return;
    }
    for (const s of secondaries) {
      const record = records.get(s.name);
      if (record) s.toPrimary.set(record.key, user.key);
    }
    joined.push({ user, records });
  });

  for (const s of secondaries) {
    const missing = s.missing.length + s.noValue.length;
    const share = primary.users.length > 0 ? (missing / primary.users.length) * 100 : 0;
    if (share > s.maxMissingPercent) {
      throw new SourceError(
        `sources.${s.name}: ${missing} of ${primary.users.length} people of ${spec.primary} (${share.toFixed(1)}%) have no record in ${s.name} ` +
          `(${spec.primary}.${s.on[0]} = ${s.name}.${s.on[1]}; ${s.snapshot.users.length} records read), more than join.secondaries.${s.name}.maxMissingPercent ` +
          `(${s.maxMissingPercent}%): read as an outage of ${s.name} or a wrong join attribute, not as that many people missing from it`,
      );
    }
  }

  const byDefault = [spec.primary, ...spec.secondaries.map((s) => s.name)];
  const ordered = new Map(Object.entries(spec.precedence).map(([attribute, listed]) => [attribute, listed.includes(spec.primary) ? listed : [...listed, spec.primary]]));
  const order = (attribute: string): readonly string[] => ordered.get(attribute) ?? byDefault;
  const byName = new Map(secondaries.map((s) => [s.name, s]));
  const groupSources = new Set(spec.groups);

  // Pass 2: the merged people.
  const newAttributes = plainRecordMaker<SourceValue>();
  const merged = joined.map(({ user, records }): CanonicalUser => {
    const attributes = newAttributes();
    for (const r of records.values()) {
      for (const name of Object.keys(r.attributes)) {
        if (Object.hasOwn(attributes, name)) continue;
        let value: SourceValue | undefined;
        for (const source of order(name)) {
          const candidate = records.get(source)?.attributes[name];
          if (!isEmpty(candidate)) {
            value = candidate;
            break;
          }
        }
        attributes[name] = value !== undefined ? value : (user.attributes[name] ?? null);
      }
    }
    const managerKey = user.managerKey === undefined || user.managerKey === null ? lentManager(user.managerKey, records, secondaries) : user.managerKey;
    const groupNames: string[] = [];
    for (const [source, r] of records) if (r.groups && groupSources.has(source)) groupNames.push(...r.groups);
    return {
      key: user.key,
      active: user.active,
      attributes,
      ...(managerKey !== undefined ? { managerKey } : {}),
      ...(groupNames.length > 0 || user.groups ? { groups: [...new Set(groupNames)] } : {}),
      ref: user.ref,
    };
  });

  const users = withoutSharedUserNames(merged, issues, held);
  // Joined without a secondary's record: their accounts are left as they are (DirectorySnapshot.partialKeys).
  const partial = new Set(joinedLists(secondaries.flatMap((s) => [s.missing, s.noValue])).filter((key) => !held.has(key)));

  const groups = new Map<string, { group: CanonicalGroup; from: string }>();
  for (const name of spec.groups) {
    const s = byName.get(name);
    let leftOut = 0;
    for (const group of read(name).groups) {
      const first = groups.get(group.key);
      if (first) {
        warnings.push({ code: 'JOIN_GROUP_CLASH', message: `${name}: group "${group.key}" is also a group of ${first.from}; ${first.from}'s is provisioned`, ref: group.ref });
        continue;
      }
      let memberKeys = group.memberKeys;
      if (s) {
        memberKeys = mapKept(group.memberKeys, (k) => s.toPrimary.get(k));
        leftOut += group.memberKeys.length - memberKeys.length;
      }
      groups.set(group.key, { group: s ? { ...group, memberKeys } : group, from: name });
    }
    if (s && leftOut > 0) {
      warnings.push({
        code: 'JOIN_MEMBERS_LEFT_OUT',
        message: `${name}: ${leftOut} group membership${leftOut === 1 ? '' : 's'} left out: the member is not joined to a person of ${spec.primary}`,
        ref: { location: s.snapshot.source },
      });
    }
  }

  for (const s of secondaries) {
    const ref = { location: s.snapshot.source };
    const on = `${spec.primary}.${s.on[0]} = ${s.name}.${s.on[1]}`;
    if (s.missing.length > 0) {
      const keep = s.dirty ? `held (neither updated nor deprovisioned) while ${s.name} rejects records, one of which may be theirs` : PARTIAL;
      warnings.push({
        code: 'JOIN_MISSING_IN_SECONDARY',
        message: `${s.name}: ${s.missing.length} of ${primary.users.length} people of ${spec.primary} have no record here (${on}); ${keep}: ${sample(s.missing)}`,
        ref,
      });
    }
    if (s.heldRecord.length > 0) {
      warnings.push({
        code: 'JOIN_HELD_IN_SECONDARY',
        message: `${s.name}: ${s.heldRecord.length} people of ${spec.primary} are held (neither updated nor deprovisioned): ${s.name} holds their record: ${sample(s.heldRecord)}`,
        ref,
      });
    }
    if (s.noValue.length > 0) {
      warnings.push({
        code: 'JOIN_MISSING_IN_SECONDARY',
        message: `${s.name}: ${s.noValue.length} of ${primary.users.length} people of ${spec.primary} have no ${s.on[0]} to join on; ${PARTIAL}: ${sample(s.noValue)}`,
        ref,
      });
    }
    const unmatched = s.snapshot.users.length - s.toPrimary.size;
    if (unmatched > 0) {
      warnings.push({
        code: 'JOIN_UNMATCHED_RECORDS',
        message: `${s.name}: ${unmatched} of ${s.snapshot.users.length} records match no person of ${spec.primary} (${on}) and are ignored${s.unkeyed > 0 ? `, ${s.unkeyed} of them with no single ${s.on[1]} value` : ''}`,
        ref,
      });
    }
  }

  const all = [spec.primary, ...spec.secondaries.map((s) => s.name)].map((name) => [name, read(name)] as const);
  return {
    source: options.description,
    users,
    groups: [...groups.values()].map((g) => g.group),
    issues: [...all.flatMap(([name, snap]) => prefixed(name, snap.issues)), ...issues],
    warnings: [...all.flatMap(([name, snap]) => prefixed(name, snap.warnings ?? [])), ...warnings],
    heldKeys: [...held, ...heldOfSecondaries(spec, secondaries, primary.users)],
    ...(partial.size > 0 ? { partialKeys: [...partial] } : {}),
    recordsRead: all.reduce((n, [, snap]) => n + snap.recordsRead, 0),
    // The join's own issues are about the primary's people.
    parts: all.map(([name, snap]) => ({ name, recordsRead: snap.recordsRead, invalidRecords: snap.issues.length + (name === spec.primary ? issues.length : 0) })),
  };
}

/**
 * The keys a secondary whose groups are taken holds, for its groups: a group only its rejected
 * records name is held as that source holds it, not deleted from every app. Its held records' keys
 * come too (heldKeys does not tell people from groups); one that is also a primary person's key is
 * left out, as that person's fate is the join's (heldRecord), not a stranger's key.
 */
function heldOfSecondaries(spec: JoinSpec, secondaries: readonly SecondaryState[], people: readonly CanonicalUser[]): string[] {
  const lending = secondaries.filter((s) => spec.groups.includes(s.name) && s.held.size > 0);
  if (lending.length === 0) return [];
  const personKeys = new Set(people.map((u) => u.key));
  return lending.flatMap((s) => [...s.held].filter((key) => !personKeys.has(key)));
}

/**
 * The manager of a person the primary names none for (`primary`: null, or undefined without a
 * manager column), from the secondaries that name managers, in order: the first manager joined to
 * a person of the primary; else unknown (undefined: the reference is left as it is) when a
 * secondary has no record of the person, or names a manager it has no record of while it misses
 * people of the primary (the manager may be one of them, whose record it no longer has), or names
 * none while it misses people (the same, as an LDAP directory says it); else none (null) when a
 * secondary's record of the person names no manager, as that source alone would say (a manager
 * removed in the directory is cleared in the apps); else the primary's.
 */
function lentManager(primary: null | undefined, records: ReadonlyMap<string, CanonicalUser>, secondaries: readonly SecondaryState[]): string | null | undefined {
  let unknown = false;
  let none = false;
  for (const s of secondaries) {
    if (!s.managers) continue;
    const record = records.get(s.name);
    if (!record) {
      unknown = true;
      continue;
    }
    const key = record.managerKey;
    const missesPeople = s.missing.length + s.noValue.length > 0;
    // No manager, said by a source that misses people: an LDAP directory says so of a manager whose
    // entry it did not return, who may be one of them.
    if (key === null) (missesPeople ? (unknown = true) : (none = true));
    if (typeof key !== 'string') continue;
    const mapped = s.toPrimary.get(key);
    if (mapped) return mapped;
    if (!s.managers.has(key) && missesPeople) unknown = true;
  }
  return unknown ? undefined : none ? null : primary;
}

/** What becomes of people a clean secondary has no record of (DirectorySnapshot.partialKeys). */
const PARTIAL = `they have the other sources' values; what this source lends them is unknown, not empty: no value of an account they have is cleared, and a scope they fall out of does not deprovision them`;

/**
 * Each source checks that its userNames are its own, but precedence can give a person a secondary's
 * userName that another person has from the primary. Those people are held, all of them, with an
 * issue each: sent on, the second create meets a conflict and the first's account.
 */
function withoutSharedUserNames(users: readonly CanonicalUser[], issues: SourceIssue[], held: Set<string>): CanonicalUser[] {
  const owners = new Map<string, CanonicalUser[]>();
  for (const u of users) {
    const name = u.attributes['userName'];
    if (typeof name !== 'string' || name.trim() === '') continue;
    const folded = foldUserName(name.trim());
    const same = owners.get(folded);
    if (same) same.push(u);
    else owners.set(folded, [u]);
  }
  const shared = new Set<string>();
  for (const [name, sharing] of owners) {
    if (sharing.length < 2) continue;
    const keys = sharing.map((u) => u.key);
    for (const u of sharing) {
      shared.add(u.key);
      held.add(u.key);
      issues.push({ code: 'JOIN_DUPLICATE_USERNAME', message: `${u.key} is held: the joined sources give userName "${name}" to ${sample(keys)}`, ref: u.ref });
    }
  }
  return shared.size === 0 ? [...users] : users.filter((u) => !shared.has(u.key));
}
