/**
 * Control characters in source values (a NUL from a broken export, an ANSI escape that rewrites a
 * terminal) are never passed on to an app. Every source's snapshot goes through here (see
 * create-source.ts): under `reject` a record holding one is invalid (a SourceIssue naming where
 * and which field; the person is held, as for any record that cannot be trusted); under `strip`
 * the characters are removed and one warning counts them. Pure.
 */
import { foldUserName } from '../model/user-name.js';
import { describeSourceRef, type CanonicalGroup, type CanonicalUser, type DirectorySnapshot, type SourceIssue, type SourceRef, type SourceValue } from '../model/canonical.js';

export interface ControlCharacterPolicy {
  readonly mode: 'reject' | 'strip';
  /** Attributes where line breaks and tabs are legitimate (a CSV's multilineColumns). */
  readonly multiline: ReadonlySet<string>;
  /** What a value's name is called in messages: a CSV has columns, the others attributes. */
  readonly field: 'column' | 'attribute';
}

/**
 * The control characters: C0, DEL, C1, and the bidirectional embeddings, overrides and isolates (a
 * U+202E in a name shows it reversed in every app), the characters model/printable.ts escapes on a
 * terminal; and the same without tab, line feed and carriage return, legitimate in a multi-line
 * column. Regular expressions rather than a loop over character codes: this runs once over every
 * value a source reads, and a CLI's read is over before such a loop is optimised (100,000 people's
 * values: about 100 ms as a loop in a fresh process, 30 ms as the expression, which runs as
 * compiled code from its first call).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Where the first control character lies in `text` from `from` on, or -1; `inText`: tab and line breaks are text. */
export function controlAt(text: string, inText: boolean, from = 0): number {
  const pattern = inText ? CONTROL_IN_TEXT : CONTROL;
  pattern.lastIndex = from;
  const found = pattern.exec(text);
  return found === null ? -1 : found.index;
}

interface Found {
  /** Which value, e.g. `column first_name` or `key`. */
  readonly name: string;
  readonly char: string;
  /** 1-based position of the character in the value. */
  readonly at: number;
}

/**
 * The first control character `pattern` finds in a value, or undefined; the value is named `what`,
 * or `what attribute`. Runs for every value of every record, so it builds nothing unless it finds one.
 */
function findIn(value: SourceValue | readonly string[] | undefined, inText: boolean, what: string, attribute?: string): Found | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return foundIn(value, inText, what, attribute);
  for (let i = 0; i < value.length; i++) {
    const found = foundIn(value[i]!, inText, what, attribute);
    if (found) return found;
  }
  return undefined;
}

function foundIn(text: string, inText: boolean, what: string, attribute: string | undefined): Found | undefined {
  const at = controlAt(text, inText);
  return at < 0 ? undefined : { name: attribute === undefined ? what : `${what} ${attribute}`, char: text[at]!, at: at + 1 };
}

function codePoint(char: string): string {
  return `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function stripText(value: string, inText: boolean): string | null {
  let cleaned = '';
  let from = 0;
  for (let at = controlAt(value, inText); at >= 0; at = controlAt(value, inText, from)) {
    // A line break or tab between words becomes a space; anything else simply goes.
    cleaned += value.slice(from, at) + ('\t\n\u000b\u000c\r'.includes(value[at]!) ? ' ' : '');
    from = at + 1;
  }
  cleaned = (cleaned + value.slice(from)).trim();
  return cleaned === '' ? null : cleaned;
}

function stripValue(value: SourceValue, inText: boolean): SourceValue {
  if (value === null) return null;
  if (!Array.isArray(value)) return stripText(value, inText);
  const parts = value.map((v) => stripText(v, inText)).filter((v): v is string => v !== null);
  return parts.length === 0 ? null : parts;
}

export function screenControlCharacters(snapshot: DirectorySnapshot, policy: ControlCharacterPolicy): DirectorySnapshot {
  const inText = (attribute: string) => policy.multiline.has(attribute);
  // Most sources have no multi-line attribute: then no look-up for each of the ~15 of every person.
  const multiline = policy.multiline.size > 0 ? policy.multiline : null;
  const userFault = (u: CanonicalUser): Found | undefined => {
    const attributes = u.attributes;
    for (const attribute in attributes) {
      const value = attributes[attribute];
      // Most attributes of most people are empty or one clean text: settled here, without a call.
      if (value === null || value === undefined) continue;
      const lines = multiline !== null && multiline.has(attribute);
      if (typeof value === 'string' && controlAt(value, lines) < 0) continue;
      const found = findIn(value, lines, policy.field, attribute);
      if (found) return found;
    }
    return findIn(u.key, false, 'key') ?? findIn(u.managerKey, false, 'manager key') ?? findIn(u.groups, false, 'group name');
  };
  // A member key is some person's or group's key, judged with that record; stripping changes it in both places.
  const groupFault = (g: CanonicalGroup): Found | undefined =>
    findIn(g.key, false, 'group key') ??
    findIn(g.displayName, false, 'group name') ??
    (policy.mode === 'strip' ? (findIn(g.memberKeys, false, 'member key') ?? findIn(g.groupKeys, false, 'member key')) : undefined);

  const faultyUsers = new Map<CanonicalUser, Found>();
  for (const u of snapshot.users) {
    const found = userFault(u);
    if (found) faultyUsers.set(u, found);
  }
  const faultyGroups = new Map<CanonicalGroup, Found>();
  for (const g of snapshot.groups) {
    const found = groupFault(g);
    if (found) faultyGroups.set(g, found);
  }
  if (faultyUsers.size === 0 && faultyGroups.size === 0) return snapshot;

  if (policy.mode === 'strip') return stripped(snapshot, faultyUsers, faultyGroups, inText);
  const rejection = (found: Found): Rejection => ({ what: holds(found), why: '(source.controlCharacters: strip would remove such characters)' });
  return rejected(snapshot, mapValues(faultyUsers, rejection), mapValues(faultyGroups, rejection));
}

/** Why a record is left out: what is wrong with it, and what the setting has to do with it. */
interface Rejection {
  readonly what: string;
  readonly why: string;
}

const holds = (found: Found): string => `${found.name} holds the control character ${codePoint(found.char)} at character ${found.at}`;

function mapValues<K, V, W>(map: ReadonlyMap<K, V>, f: (v: V) => W): Map<K, W> {
  return new Map([...map].map(([k, v]) => [k, f(v)]));
}

/**
 * The records that cannot be trusted left out, each an invalid record naming where and what; its
 * person or group held (and `alsoHeld`): a group the source names, even in a record it cannot
 * trust, still exists, and is not deleted as gone.
 */
function rejected(
  snapshot: DirectorySnapshot,
  users: ReadonlyMap<CanonicalUser, Rejection>,
  groups: ReadonlyMap<CanonicalGroup, Rejection>,
  alsoHeld: readonly string[] = [],
): DirectorySnapshot {
  if (users.size === 0 && groups.size === 0) return snapshot;
  const issue = (ref: SourceRef, r: Rejection, consequence: string, group?: string): SourceIssue => ({
    code: 'CONTROL_CHARACTER',
    message: `${describeSourceRef(ref)}: ${r.what}; ${consequence} ${r.why}`,
    ref,
    ...(group !== undefined ? { holdsGroups: [group] } : {}),
  });
  return {
    ...snapshot,
    users: snapshot.users.filter((u) => !users.has(u)),
    groups: snapshot.groups.filter((g) => !groups.has(g)),
    issues: [
      ...snapshot.issues,
      ...[...users].map(([u, r]) => issue(u.ref, r, 'the record is skipped and this person held')),
      ...[...groups].map(([g, r]) => issue(g.ref, r, 'the group is skipped and held, not deleted', g.key)),
    ],
    heldKeys: [...new Set([...snapshot.heldKeys, ...[...users.keys(), ...groups.keys()].map((r) => r.key), ...alsoHeld])],
  };
}

/**
 * Under `strip`: the characters go from values, references (a manager, a member) and keys, but a key
 * is never stripped into another record's. A key that differs from another only by an invisible
 * U+202C would, stripped, be that other person's, and one row's data would be written onto someone
 * else's account: such a record is rejected as under `reject`, and the key it would have become is
 * held too. A userName that stripping makes another person's is rejected the same way.
 */
function stripped(
  snapshot: DirectorySnapshot,
  faultyUsers: ReadonlyMap<CanonicalUser, Found>,
  faultyGroups: ReadonlyMap<CanonicalGroup, Found>,
  inText: (attribute: string) => boolean,
): DirectorySnapshot {
  const clean = (v: string) => stripText(v, false) ?? '';
  const badUsers = new Map<CanonicalUser, Rejection>();
  const badGroups = new Map<CanonicalGroup, Rejection>();
  const alsoHeld: string[] = [];
  // How many records each key is, or becomes once stripped: a key two records share after stripping is no one's.
  const keyCount = (keys: readonly string[]) => {
    const count = new Map<string, number>();
    for (const k of keys) count.set(k, (count.get(k) ?? 0) + 1);
    return count;
  };
  const userKeys = keyCount(snapshot.users.map((u) => (faultyUsers.has(u) ? clean(u.key) : u.key)));
  const groupKeys = keyCount(snapshot.groups.map((g) => (faultyGroups.has(g) ? clean(g.key) : g.key)));
  const keyProblem = (key: string, what: string, counts: Map<string, number>): Rejection | undefined => {
    const found = findIn(key, false, what);
    if (!found) return undefined;
    const becomes = clean(key);
    if (becomes === '') return { what: holds(found), why: '(source.controlCharacters: strip: nothing is left of the key)' };
    if (counts.get(becomes)! < 2) return undefined;
    alsoHeld.push(becomes);
    return { what: holds(found), why: `(source.controlCharacters: strip never makes one key another's: stripped it would be ${becomes}, another record's, which is held too)` };
  };
  for (const u of faultyUsers.keys()) {
    const problem = keyProblem(u.key, 'key', userKeys);
    if (problem) badUsers.set(u, problem);
  }
  for (const g of faultyGroups.keys()) {
    const problem = keyProblem(g.key, 'group key', groupKeys);
    if (problem) badGroups.set(g, problem);
  }
  const strippedOf = new Map<CanonicalUser, CanonicalUser>();
  const users = snapshot.users.map((u) => {
    if (!faultyUsers.has(u) || badUsers.has(u)) return u;
    const s: CanonicalUser = {
      ...u,
      key: clean(u.key),
      attributes: Object.fromEntries(Object.entries(u.attributes).map(([a, v]) => [a, stripValue(v, inText(a))])),
      ...(u.managerKey ? { managerKey: clean(u.managerKey) } : {}),
      ...(u.groups ? { groups: u.groups.map(clean).filter((g) => g !== '') } : {}),
    };
    strippedOf.set(u, s);
    return s;
  });
  const owners = new Map<string, number>();
  for (const u of users) {
    const name = u.attributes['userName'];
    if (typeof name === 'string') owners.set(foldUserName(name), (owners.get(foldUserName(name)) ?? 0) + 1);
  }
  strippedOf.forEach((u, original) => {
    const name = u.attributes['userName'];
    if (typeof name !== 'string' || name === original.attributes['userName'] || owners.get(foldUserName(name))! < 2) return;
    badUsers.set(u, { what: `userName "${name}", its control characters stripped, is another person's`, why: '(source.controlCharacters: strip)' });
  });
  const groups = snapshot.groups.map((g) =>
    !faultyGroups.has(g) || badGroups.has(g)
      ? g
      : { ...g, key: clean(g.key), displayName: clean(g.displayName), memberKeys: g.memberKeys.map(clean), ...(g.groupKeys ? { groupKeys: g.groupKeys.map(clean) } : {}) },
  );
  // The warning counts and names what was stripped and kept, not what was rejected.
  const kept: [CanonicalUser | CanonicalGroup, Found][] = [
    ...[...faultyUsers].filter(([u]) => !badUsers.has(u) && !badUsers.has(strippedOf.get(u)!)),
    ...[...faultyGroups].filter(([g]) => !badGroups.has(g)),
  ];
  const warnings = [...(snapshot.warnings ?? [])];
  if (kept.length > 0) {
    const [record, found] = kept[0]!;
    warnings.push({
      code: 'CONTROL_CHARACTERS_STRIPPED',
      message: `control characters stripped (source.controlCharacters: strip) from ${kept.length} record${kept.length === 1 ? '' : 's'}, the first at ${describeSourceRef(record.ref)}, ${found.name}`,
      ref: record.ref,
    });
  }
  return rejected({ ...snapshot, users, groups, warnings }, badUsers, badGroups, alsoHeld);
}
