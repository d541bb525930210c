/**
 * Control characters in source values (a NUL from a broken export, an ANSI escape that rewrites a
 * terminal) are never passed on to an app. Every source's snapshot goes through here (see
 * create-source.ts): under `reject` a record holding one is invalid (a SourceIssue naming where
 * and which field; the person is held, as for any record that cannot be trusted); under `strip`
 * the characters are removed and one warning counts them. Pure.
 */
import type { CanonicalGroup, CanonicalUser, DirectorySnapshot, SourceIssue, SourceRef, SourceValue } from '../model/canonical.js';

export interface ControlCharacterPolicy {
  readonly mode: 'reject' | 'strip';
  /** Attributes where line breaks and tabs are legitimate (a CSV's multilineColumns). */
  readonly multiline: ReadonlySet<string>;
  /** What a value's name is called in messages: a CSV has columns, the others attributes. */
  readonly field: 'column' | 'attribute';
}

/**
 * C0, DEL, C1, and the bidirectional embeddings, overrides and isolates (a U+202E in a name shows it
 * reversed in every app): the characters model/printable.ts escapes on a terminal.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** The same, less tab, line feed and carriage return. */
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');
const CONTROL_IN_TEXT_ALL = new RegExp(CONTROL_IN_TEXT.source, 'g');

interface Found {
  /** Which value, e.g. `column first_name` or `key`. */
  readonly name: string;
  readonly char: string;
  /** 1-based position of the character in the value. */
  readonly at: number;
}

/** `name` and `prefix`: the value's name is `${prefix}${name}`, put together only when something is found (most values are clean). */
function findIn(value: SourceValue | undefined, pattern: RegExp, name: string, prefix = ''): Found | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Array.isArray(value)) {
    const m = pattern.exec(value as string);
    return m ? { name: prefix + name, char: m[0], at: m.index + 1 } : undefined;
  }
  for (const v of value) {
    const m = pattern.exec(v);
    if (m) return { name: prefix + name, char: m[0], at: m.index + 1 };
  }
  return undefined;
}

function where(ref: SourceRef): string {
  return ref.line !== undefined ? `${ref.location}:${ref.line}` : ref.location;
}

function codePoint(char: string): string {
  return `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function stripText(value: string, pattern: RegExp): string | null {
  // A line break or tab between words becomes a space; anything else simply goes.
  const cleaned = value.replace(pattern, (c) => ('\t\n\u000b\u000c\r'.includes(c) ? ' ' : '')).trim();
  return cleaned === '' ? null : cleaned;
}

function stripValue(value: SourceValue, pattern: RegExp): SourceValue {
  if (value === null) return null;
  if (!Array.isArray(value)) return stripText(value, pattern);
  const parts = value.map((v) => stripText(v, pattern)).filter((v): v is string => v !== null);
  return parts.length === 0 ? null : parts;
}

export function screenControlCharacters(snapshot: DirectorySnapshot, policy: ControlCharacterPolicy): DirectorySnapshot {
  const patternFor = (attribute: string) => (policy.multiline.has(attribute) ? CONTROL_IN_TEXT : CONTROL);
  const field = `${policy.field} `;
  const userFault = (u: CanonicalUser): Found | undefined => {
    for (const attribute in u.attributes) {
      const found = findIn(u.attributes[attribute], patternFor(attribute), attribute, field);
      if (found) return found;
    }
    return findIn(u.key, CONTROL, 'key') ?? findIn(u.managerKey, CONTROL, 'manager key') ?? findIn(u.groups ? [...u.groups] : null, CONTROL, 'group name');
  };
  // A member key is some person's or group's key, judged with that record; stripping changes it in both places.
  const groupFault = (g: CanonicalGroup): Found | undefined =>
    findIn(g.key, CONTROL, 'group key') ??
    findIn(g.displayName, CONTROL, 'group name') ??
    (policy.mode === 'strip' ? findIn([...g.memberKeys, ...(g.groupKeys ?? [])], CONTROL, 'member key') : undefined);

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

  if (policy.mode === 'strip') {
    const first = [...faultyUsers.entries(), ...faultyGroups.entries()][0]!;
    const stripped: SourceIssue = {
      code: 'CONTROL_CHARACTERS_STRIPPED',
      message: `control characters stripped (source.controlCharacters: strip) from ${faultyUsers.size + faultyGroups.size} record${faultyUsers.size + faultyGroups.size === 1 ? '' : 's'}, the first at ${where(first[0].ref)}, ${first[1].name}`,
      ref: first[0].ref,
    };
    const clean = (v: string) => stripText(v, CONTROL_ALL) ?? '';
    return {
      ...snapshot,
      users: snapshot.users.map((u) =>
        !faultyUsers.has(u)
          ? u
          : {
              ...u,
              key: clean(u.key),
              attributes: Object.fromEntries(Object.entries(u.attributes).map(([a, v]) => [a, stripValue(v, policy.multiline.has(a) ? CONTROL_IN_TEXT_ALL : CONTROL_ALL)])),
              ...(u.managerKey ? { managerKey: clean(u.managerKey) } : {}),
              ...(u.groups ? { groups: u.groups.map(clean).filter((g) => g !== '') } : {}),
            },
      ),
      groups: snapshot.groups.map((g) =>
        !faultyGroups.has(g)
          ? g
          : { ...g, key: clean(g.key), displayName: clean(g.displayName), memberKeys: g.memberKeys.map(clean), ...(g.groupKeys ? { groupKeys: g.groupKeys.map(clean) } : {}) },
      ),
      warnings: [...(snapshot.warnings ?? []), stripped],
    };
  }

  const issue = (ref: SourceRef, found: Found, consequence: string): SourceIssue => ({
    code: 'CONTROL_CHARACTER',
    message: `${where(ref)}: ${found.name} holds the control character ${codePoint(found.char)} at character ${found.at}; ${consequence} (source.controlCharacters: strip would remove such characters)`,
    ref,
  });
  const issues = [
    ...[...faultyUsers].map(([u, found]) => issue(u.ref, found, 'the record is skipped and this person held')),
    ...[...faultyGroups].map(([g, found]) => issue(g.ref, found, 'the group is skipped')),
  ];
  return {
    ...snapshot,
    users: snapshot.users.filter((u) => !faultyUsers.has(u)),
    groups: snapshot.groups.filter((g) => !faultyGroups.has(g)),
    issues: [...snapshot.issues, ...issues],
    heldKeys: [...snapshot.heldKeys, ...[...faultyUsers.keys()].map((u) => u.key)],
  };
}
