/** The values the log leaves out: those of the attributes listed in `audit.redactAttributes`. */
import type { AttributeChange } from '../model/plan.js';
import type { JsonObject, JsonValue } from '../model/scim.js';

export const REDACTED = '[redacted]';

/**
 * The attribute a path names, compared case-insensitively as SCIM does, without value filters or
 * an extension's schema URN: `phoneNumbers[type eq "work"].value` is `phonenumbers.value`, and
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` is `manager.value`.
 */
function attributeOf(path: string): string {
  const plain = path.replace(/\[[^\]]*\]/g, '');
  return (/^urn:/i.test(plain) ? plain.slice(plain.lastIndexOf(':') + 1) : plain).toLowerCase();
}

/** Whether `path` is, or lies inside or around, one of the listed attributes. */
export function listed(path: string, attributes: readonly string[]): boolean {
  const p = attributeOf(path);
  return attributes.some((a) => {
    const e = attributeOf(a);
    return p === e || p.startsWith(`${e}.`) || e.startsWith(`${p}.`);
  });
}

/** `changes` with the old and new values of listed attributes replaced by "[redacted]". */
export function redactChanges(changes: readonly AttributeChange[], attributes: readonly string[]): AttributeChange[] {
  return changes.map((c) => (listed(c.path, attributes) ? { path: c.path, from: REDACTED, to: REDACTED } : c));
}

/** The texts (strings, and numbers as written) anywhere in a value. */
function leaves(value: JsonValue | undefined, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number') out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) leaves(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) leaves(v, out);
}

/** The texts of a resource's listed attributes, walked down to each value's own path (an extension's attributes inside its URN). */
function listedLeaves(value: JsonValue, path: string, attributes: readonly string[], out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) listedLeaves(v, path, attributes, out);
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) listedLeaves(v, path === '' ? k : /^urn:/i.test(k) ? k : `${path}${/^urn:/i.test(path) ? ':' : '.'}${k}`, attributes, out);
    return;
  }
  if (path !== '' && listed(path, attributes)) leaves(value, out);
}

/**
 * The values of the listed attributes that a record's operation carries: the old and new values of
 * its changes (as redactChanges masks them: a change around a listed attribute whole) and those in
 * the resources it sends. A server refusing one may quote it in its error.
 */
export function listedValues(changes: readonly AttributeChange[] | undefined, sends: readonly JsonObject[] | undefined, attributes: readonly string[]): string[] {
  if (attributes.length === 0) return [];
  const out: string[] = [];
  for (const c of changes ?? []) {
    if (!listed(c.path, attributes)) continue;
    leaves(c.from, out);
    leaves(c.to, out);
  }
  for (const resource of sends ?? []) listedLeaves(resource, '', attributes, out);
  return [...new Set(out)];
}

const WORDY = /[\p{L}\p{N}_]/u;
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `text` with each of `values` replaced by "[redacted]" wherever it stands as a value of its own (not
 * inside a longer word: a title "IT" leaves "ITEM" alone), in any case, and as a JSON string writes
 * it. A single character is left: it would be replaced all over a message, and tells nothing alone.
 */
export function scrubValues(text: string, values: readonly string[]): string {
  const forms = new Set<string>();
  for (const v of values) {
    if (v.trim().length < 2) continue;
    forms.add(v);
    forms.add(JSON.stringify(v).slice(1, -1));
  }
  if (forms.size === 0) return text;
  // Longest first, so a value holding another is replaced whole.
  const pattern = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((f) => `${WORDY.test(f[0]!) ? '(?<![\\p{L}\\p{N}_])' : ''}${escapeRegExp(f)}${WORDY.test(f.at(-1)!) ? '(?![\\p{L}\\p{N}_])' : ''}`)
    .join('|');
  return text.replace(new RegExp(pattern, 'giu'), REDACTED);
}
