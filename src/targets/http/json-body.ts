/**
 * A SCIM answer's body parsed from its bytes. A list page of a few hundred resources passes 128 KiB,
 * and V8 puts any string (or other object) that large in its large-object space, an allocation of
 * fresh pages of its own: on a virtual machine, where each page fault is dear, decoding one such
 * page cost about 0.8 ms against 0.03 ms for a page just under the line, and the allocations drive
 * extra full collections (a listing of 100,000 accounts: about 430 ms of decoding, more than the
 * parsing). So a large body that is an object with a "Resources" array is cut at the array's
 * elements, and each element, the envelope around them, is decoded and parsed on its own, all of
 * them small. The cuts fall on ASCII brackets and commas, never inside a UTF-8 sequence, so the
 * text decoded is the same; JSON.parse checks every part. Whatever the cutting does not expect
 * (another shape, a second "Resources", bytes that are not JSON between elements) is parsed whole,
 * as any other body, and fails the same way.
 */

/** Bodies below this are decoded whole: one string well under V8's large-object size (128 KiB). */
const CUT_FROM = 96 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const RESOURCES = Buffer.from('"Resources"');

/** The body as JSON (JSON.parse's own errors for what is not). */
export function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.length >= CUT_FROM) {
    const parsed = parseInParts(bytes, true) ?? parseInParts(bytes, false);
    if (parsed) return parsed;
  }
  return JSON.parse(bytes.toString('utf8'));
}

/**
 * The body parsed as its envelope and each resource on its own; null when it is not cut (or, cut
 * by `marked` boundaries, a part is not one whole resource: then the byte walk cuts it again).
 */
function parseInParts(bytes: Buffer, marked: boolean): Record<string, unknown> | null {
  const cut = cutResources(bytes, marked);
  if (!cut) return null;
  const envelope = JSON.parse(`${bytes.toString('utf8', 0, cut.start)}null${bytes.toString('utf8', cut.end)}`) as Record<string, unknown>;
  // The placeholder must be what the envelope holds: else another "Resources" (spelt with an
  // escape) came after it, and the whole parse is the one that says which wins.
  if (envelope === null || typeof envelope !== 'object' || envelope['Resources'] !== null) return null;
  const resources: unknown[] = [];
  for (let i = 0; i < cut.elements.length; i += 2) {
    const text = bytes.toString('utf8', cut.elements[i], cut.elements[i + 1]);
    if (!marked) resources.push(JSON.parse(text));
    else {
      try {
        resources.push(JSON.parse(text));
      } catch {
        return null;
      }
    }
  }
  envelope['Resources'] = resources;
  return envelope;
}

/** Whether the body is empty or only whitespace (an answer with nothing to parse). */
export function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (!isSpace(bytes[i]!)) return false;
  return true;
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * Where the top-level "Resources" array lies ([start, end) of the whole array) and each of its
 * elements (start and end offsets, in pairs); null when the body is not an object holding one such
 * array of objects, exactly once, with only commas and whitespace between its elements.
 */
export function cutResources(bytes: Buffer, marked = false): { start: number; end: number; elements: number[] } | null {
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_OBJECT) return null;
  i++;
  let depth = 1;
  let found: { start: number; end: number; elements: number[] } | null = null;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b === QUOTE) {
      const close = stringEnd(bytes, i);
      if (close < 0) return null;
      if (depth === 1 && close - i + 1 === RESOURCES.length && bytes.compare(RESOURCES, 0, RESOURCES.length, i, close + 1) === 0) {
        const colon = skipSpace(bytes, close + 1);
        if (bytes[colon] === COLON) {
          const open = skipSpace(bytes, colon + 1);
          if (found || bytes[open] !== OPEN_ARRAY) return null;
          found = marked ? markedElementsOf(bytes, open) : elementsOf(bytes, open);
          if (!found) return null;
          i = found.end;
          continue;
        }
      }
      i = close + 1;
    } else {
      if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++;
      else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) return found && skipSpace(bytes, i + 1) === bytes.length ? found : null;
      }
      i++;
    }
  }
  return null;
}

/** The array opening at `open`: its end and its elements, each an object; null otherwise. */
function elementsOf(bytes: Buffer, open: number): { start: number; end: number; elements: number[] } | null {
  const elements: number[] = [];
  let i = skipSpace(bytes, open + 1);
  if (bytes[i] === CLOSE_ARRAY) return { start: open, end: i + 1, elements };
  for (;;) {
    if (bytes[i] !== OPEN_OBJECT) return null;
    const end = objectEnd(bytes, i);
    if (end < 0) return null;
    elements.push(i, end);
    i = skipSpace(bytes, end);
    if (bytes[i] === CLOSE_ARRAY) return { start: open, end: i + 1, elements };
    if (bytes[i] !== COMMA) return null;
    i = skipSpace(bytes, i + 1);
  }
}

/**
 * The array opening at `at` cut where the bytes say a resource ends and the next begins as the
 * first one began: `},{"<its first key>":`, found by Buffer#indexOf instead of a walk over every
 * byte (the walk was a third of decoding a page). No such run of bytes can lie inside a string (a
 * quote in a string is escaped, and a closing quote is followed by a comma, colon or bracket), but
 * one may close and open nested objects: a part cut there is not a whole value, its JSON.parse
 * fails, and the caller cuts the body again by the walk (elementsOf). A compact body only (no space
 * between resources), every resource beginning with the same key, as servers write them.
 */
function markedElementsOf(bytes: Buffer, open: number): { start: number; end: number; elements: number[] } | null {
  let start = open + 1;
  if (bytes[start] !== OPEN_OBJECT || bytes[start + 1] !== QUOTE) return null;
  const keyEnd = stringEnd(bytes, start + 1);
  if (keyEnd < 0 || bytes[keyEnd + 1] !== COLON) return null;
  const marker = Buffer.concat([Buffer.from('},'), bytes.subarray(start, keyEnd + 2)]);
  const elements: number[] = [];
  for (;;) {
    const next = bytes.indexOf(marker, start);
    if (next < 0) break;
    elements.push(start, next + 1);
    start = next + 2;
  }
  // The last resource by the walk: one of them, not the page.
  const end = objectEnd(bytes, start);
  if (end < 0 || bytes[end] !== CLOSE_ARRAY) return null;
  elements.push(start, end);
  return { start: open, end: end + 1, elements };
}

/** Just past the object opening at `at` (brackets inside strings not counted); -1 when it does not end. */
function objectEnd(bytes: Buffer, at: number): number {
  let depth = 0;
  let i = at;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b === QUOTE) {
      const close = stringEnd(bytes, i);
      if (close < 0) return -1;
      i = close + 1;
      continue;
    }
    if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++;
    else if ((b === CLOSE_OBJECT || b === CLOSE_ARRAY) && --depth === 0) return i + 1;
    i++;
  }
  return -1;
}

/** The closing quote of the string opening at `open` (a backslash escapes the byte after it); -1 when none. */
function stringEnd(bytes: Buffer, open: number): number {
  // A byte loop: Buffer#indexOf would check its arguments at each of a page's thousands of strings.
  for (let i = open + 1; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === BACKSLASH) i++;
    else if (b === QUOTE) return i;
  }
  return -1;
}

function skipSpace(bytes: Buffer, from: number): number {
  let i = from;
  while (i < bytes.length && isSpace(bytes[i]!)) i++;
  return i;
}
