/**
 * A credential read from the environment or a file. It cannot be printed by accident: string
 * conversion, JSON and util.inspect all show `[redacted]`; only `reveal()` gives the value, and only
 * the code that puts it on the wire calls it. Every secret is also registered, with the forms it
 * takes on the wire, so `redact()` can scrub it from any text that leaves the process (terminal,
 * `--json`, plan files, logs, audit, error messages).
 */
import { inspect } from 'node:util';
import { PIECE_CHARS } from '../model/text-pieces.js';

/**
 * Shortest credential accepted. Redaction replaces every occurrence of a value: a shorter one would
 * also scrub ordinary words and ids, and would be found in output by chance. The loader refuses
 * shorter secrets; shorter values are never registered.
 */
export const MIN_SECRET_LENGTH = 8;

/**
 * Each registered form, case folded (fold()), with how many registrations hold it (a rotated
 * token's forms go when none does). Matching ignores case: many servers take a hex or base32 key
 * in any case, and echo it upper-cased.
 */
const known = new Map<string, number>();
/** Longest first, so a value that contains another is replaced whole. */
let ordered: string[] = [];

/**
 * `text` with its letters in lower case, each character at its own index (what a match in it
 * finds is where it is in `text`): a character whose lower case is longer (İ) is kept as it is.
 */
function fold(text: string): string {
  const lower = text.toLowerCase();
  if (lower.length === text.length) return lower;
  let out = '';
  for (const c of text) {
    const l = c.toLowerCase();
    out += l.length === c.length ? l : c;
  }
  return out;
}

const reorder = () => {
  ordered = [...known.keys()].sort((a, b) => b.length - a.length);
};

/**
 * A server that echoes part of a token ("invalid token eyJhbGciOi...", or all of it but the last
 * character) gives away most of it. Forms at least this long are also scrubbed where a run of
 * PARTIAL_RUN or more of their characters appears: a shorter secret's part could be ordinary
 * text, and a run this long of a random token is not met by chance.
 */
const PARTIAL_FROM = 16;
const PARTIAL_RUN = 12;
/**
 * Runs are found by looking up WINDOW-character slices at every STEP-th position of the text (each
 * run of WINDOW + STEP - 1 or more characters covers one: 11, within PARTIAL_RUN), then grown both
 * ways: a quarter of the lookups of every position, and runs shorter than PARTIAL_RUN are left as
 * they are anyway.
 */
const STEP = 4;
const BLOCKS_PER_WINDOW = 2;
const WINDOW = BLOCKS_PER_WINDOW * STEP;
/** The forms whose parts are scrubbed, and their WINDOW-character slices, each with how many registrations hold it. */
const long = new Map<string, number>();
const windows = new Map<string, number>();
/**
 * How many of the long forms' STEP-character blocks (at every offset) have each 16-bit block hash.
 * Every line written out is looked at, and most hold no part of a secret: a slice is made and looked
 * up only where a window's blocks in a row are all found here (each block read once, from its
 * character codes), instead of at every STEP-th position, which cost more than the rest of redact().
 */
const blocks = new Uint32Array(1 << 16);

function blockHash(text: string, at: number): number {
  return (((text.charCodeAt(at) * 31 + text.charCodeAt(at + 1)) * 31 + text.charCodeAt(at + 2)) * 31 + text.charCodeAt(at + 3)) & 0xffff;
}

function count(map: Map<string, number>, key: string, delta: 1 | -1): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

function countWindows(value: string, delta: 1 | -1): void {
  if (value.length < PARTIAL_FROM) return;
  count(long, value, delta);
  for (let i = 0; i + WINDOW <= value.length; i++) count(windows, value.slice(i, i + WINDOW), delta);
  for (let i = 0; i + STEP <= value.length; i++) blocks[blockHash(value, i)]! += delta;
}

/**
 * `partial`: its long runs are scrubbed too. Not for a URL that is a credential (a Slack webhook's):
 * its scheme and host begin every other URL to that host, printed as they should be.
 */
function add(form: string, partial: boolean): void {
  if (form.length < MIN_SECRET_LENGTH) return;
  const value = fold(form);
  const n = known.get(value) ?? 0;
  known.set(value, n + 1);
  if (partial) countWindows(value, 1);
  if (n === 0) reorder();
}

function remove(form: string, partial: boolean): void {
  const value = fold(form);
  const n = known.get(value);
  if (n === undefined) return;
  if (partial) countWindows(value, -1);
  if (n > 1) known.set(value, n - 1);
  else {
    known.delete(value);
    reorder();
  }
}

const partialFor = (value: string): boolean => !value.includes('://');

/**
 * Tokens fetched again and again (OAuth access tokens, Google's) rotate in a slot: the slot keeps
 * its newest values and forgets older ones, so a long-lived service does not redact against every
 * token it ever held, each output line a little slower than the last. Two are kept: a request made
 * with the previous token may still be answered, and its answer printed, after the renewal.
 */
const ROTATION_KEEPS = 2;
const slots = new Map<string, string[]>();

/**
 * `value` as it may appear in a URL, a form, a JSON string (also with `/` escaped, as PHP writes
 * it) or base64: a server that echoes a request back (or a log line that quotes one) carries these
 * forms, not always the raw value. A value with white space at either end is also registered
 * without it: HTTP drops it from a header, so a server that quotes the header quotes the value
 * without it.
 */
function wireForms(value: string): string[] {
  const trimmed = [value.trim(), value.trimStart(), value.trimEnd()].filter((v) => v !== value);
  return [...new Set([value, ...trimmed].flatMap(encodings))];
}

function encodings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  return [
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    json,
    json.replaceAll('/', '\\/'),
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
  ];
}

/**
 * Registers a secret value and its wire forms with the redactor. `rotates`: the slot of a token
 * that is renewed (its older values are forgotten, see ROTATION_KEEPS).
 */
export function registerSecret(value: string, rotates?: string): void {
  for (const form of wireForms(value)) add(form, partialFor(value));
  if (rotates === undefined) return;
  const held = slots.get(rotates) ?? [];
  held.push(value);
  while (held.length > ROTATION_KEEPS) {
    const old = held.shift()!;
    for (const form of wireForms(old)) remove(form, partialFor(old));
  }
  slots.set(rotates, held);
}

/**
 * Registers a credential built from a secret, e.g. the `user:password` of HTTP Basic: its base64
 * is what goes on the wire. The secret is registered on its own too. The whole is scrubbed only
 * whole: a run of it may be the user alone (a Basic username, an OAuth client id), which is no
 * secret and is printed, in messages and in the identity a saved plan is bound to.
 */
export function registerCredential(user: string, secret: string, separator = ':'): void {
  registerSecret(secret);
  for (const form of wireForms(`${user}${separator}${secret}`)) add(form, false);
}

export class Secret {
  readonly #value: string;
  /** Where it came from (`env:NAME`, `file:/path`, `inline`), safe to show. */
  readonly origin: string;

  /** `rotates`: the value is a renewed token, registered in this slot (see registerSecret). */
  constructor(value: string, origin: string, options: { rotates?: string } = {}) {
    this.#value = value;
    this.origin = origin;
    registerSecret(value, options.rotates);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return `[redacted ${this.origin}]`;
  }

  [inspect.custom](): string {
    return `Secret(${this.origin})`;
  }
}

/**
 * Replace every known secret, in every registered form and in any case, in `text`, and every long
 * run of a long one's characters (a part echoed back). Applied to everything we write out.
 */
export function redact(text: string): string {
  if (ordered.length === 0) return text;
  let folded = fold(text);
  let out = text;
  for (const value of ordered) {
    if (!folded.includes(value)) continue;
    // Found in the folded text, cut from the text itself: the same indexes.
    let kept = '';
    let keptFolded = '';
    let from = 0;
    for (let at = folded.indexOf(value); at >= 0; at = folded.indexOf(value, from)) {
      kept += `${out.slice(from, at)}[redacted]`;
      keptFolded += `${folded.slice(from, at)}[redacted]`;
      from = at + value.length;
    }
    out = kept + out.slice(from);
    folded = keptFolded + folded.slice(from);
  }
  return windows.size > 0 && out.length >= PARTIAL_RUN ? redactParts(out, folded) : out;
}

/**
 * Whether redact() would change `text`, for a text that may be tens of megabytes: looked at in
 * pieces (see model/text-pieces.ts for why), each overlapping the one before by the longest form
 * less one character, so a form or a run of one, never longer than the longest form, lies whole in
 * some piece; what a piece holds, the whole text holds too.
 */
export function holdsSecret(text: string): boolean {
  if (ordered.length === 0) return false;
  const longest = ordered[0]!.length;
  const size = Math.max(PIECE_CHARS, 2 * longest);
  for (let from = 0; ; from += size - (longest - 1)) {
    const piece = text.slice(from, from + size);
    if (redact(piece) !== piece) return true;
    if (from + size >= text.length) return false;
  }
}

/**
 * JSON text parsed with every secret redacted from each of its strings, one string at a time: the
 * text redacted whole could lose a quote or a bracket to a credential that holds one, and no longer
 * parse. Names are left as they are (the callers' own).
 */
export function parseRedacted(json: string): unknown {
  return JSON.parse(json, (_name, value: unknown) => (typeof value === 'string' ? redact(value) : value));
}

/**
 * Whether a string anywhere in `data` (JSON data) holds a secret's text, as redact() finds it. For
 * what must not be redacted but must not hold one either: a plan's operations carry what they will
 * write into an app, and a plan holding a secret's text is not saved (a file, or Redis).
 */
export function holdsSecretText(data: unknown): boolean {
  if (typeof data === 'string') return redact(data) !== data;
  if (Array.isArray(data)) return data.some(holdsSecretText);
  if (data !== null && typeof data === 'object') return Object.values(data).some(holdsSecretText);
  return false;
}

/** `folded`: fold(text), where the runs are looked for; what is cut is cut from `text`. */
function redactParts(text: string, folded: string): string {
  const inSecret = (a: number, b: number) => {
    const part = folded.slice(a, b);
    for (const v of long.keys()) if (v.includes(part)) return true;
    return false;
  };
  let out = '';
  let copied = 0;
  // `found`: how many blocks in a row, up to the one at `end` - STEP, are some long form's.
  let found = 0;
  for (let end = STEP; end <= folded.length; end += STEP) {
    found = blocks[blockHash(folded, end - STEP)]! > 0 ? found + 1 : 0;
    const i = end - WINDOW;
    if (found < BLOCKS_PER_WINDOW || i < copied || !windows.has(folded.slice(i, end))) continue;
    let a = i;
    let b = i + WINDOW;
    while (a > copied && inSecret(a - 1, b)) a--;
    while (b < folded.length && inSecret(a, b + 1)) b++;
    if (b - a < PARTIAL_RUN) continue;
    out += `${text.slice(copied, a)}[redacted]`;
    copied = b;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
