/**
 * DN comparison. A member value, a manager reference and an entry's own DN name the same entry in
 * different spellings (case, spaces after commas, escapes, hex-escaped UTF-8), so they are compared
 * in a normal form: attribute types and values lowercased, values unescaped then re-escaped one
 * way, multi-valued RDNs sorted. Good for the case-insensitive naming attributes directories use
 * (cn, uid, ou, dc, o); not a full RFC 4517 matching-rule implementation.
 */

const SPECIAL = new Set([',', '+', '"', '\\', '<', '>', ';', '=', '#']);

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/** Split on an unescaped separator character. */
function splitUnescaped(text: string, separators: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (separators.includes(c)) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/** Unescape an attribute value: `\,` -> `,`, `\c3\a9` -> `é` (hex escapes are UTF-8 bytes). */
function unescapeValue(raw: string): string {
  const text = raw.trim();
  if (!text.includes('\\')) return text;
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8');
    bytes = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && isHex(text[i + 1]) && isHex(text[i + 2])) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    flush();
    if (c === '\\' && i + 1 < text.length) {
      out += text[i + 1];
      i++;
    } else {
      out += c;
    }
  }
  flush();
  return out;
}

const NEEDS_ESCAPE = /[,+"\\<>;=#]/;

function escapeValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  let out = '';
  for (const c of value) out += SPECIAL.has(c) ? `\\${c}` : c;
  return out;
}

function normalizeAva(ava: string): string {
  const eq = ava.indexOf('=');
  if (eq < 0) return ava.trim().toLowerCase();
  const type = ava.slice(0, eq).trim().toLowerCase();
  const value = ava.slice(eq + 1).trim();
  // A #-prefixed value is BER in hex: compare it as written.
  return `${type}=${value.startsWith('#') ? value.toLowerCase() : escapeValue(unescapeValue(value).toLowerCase())}`;
}

/** Plain DNs (no escapes, quotes, multi-valued RDNs or ';') split on ',' directly: the common case, and hot. */
const PLAIN = /^[^\\"+;#]*$/;
/** `type=value` RDNs with nothing to unescape, re-escape or trim: their normal form is the DN lowercased. */
const SIMPLE = /^[^\\"+;#<>=,]+=[^\\"+;#<>=,]+(?:,[^\\"+;#<>=,]+=[^\\"+;#<>=,]+)*$/;
const SPACE_TO_TRIM = /^\s|\s$|\s[,=]|[,=]\s/;

/** ASCII whitespace, the only kind an ASCII DN can hold (\s of SPACE_TO_TRIM). */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Whether a DN is its own normal form by the SIMPLE rule: ASCII without upper case, `type=value`
 * RDNs with nothing to unescape, re-escape or trim. One pass and nothing built: this runs for every
 * person read, and directories mostly write their DNs so (a DN that is not is simply normalised).
 */
function alreadyNormal(dn: string): boolean {
  let part = 0;
  let inValue = false;
  for (let i = 0; i < dn.length; i++) {
    const c = dn.charCodeAt(i);
    if (c === 0x2c || c === 0x3d) {
      // ',' ends a value, '=' a type: neither may be empty, nor end in a space to trim.
      if ((c === 0x2c) !== inValue || part === 0 || isSpace(dn.charCodeAt(i - 1))) return false;
      inValue = c === 0x3d;
      part = 0;
    } else if (c >= 0x80 || (c >= 0x41 && c <= 0x5a) || c === 0x5c || c === 0x22 || c === 0x2b || c === 0x3b || c === 0x23 || c === 0x3c || c === 0x3e) {
      // Not ASCII, upper case, or one of \ " + ; # < >: the general path decides.
      return false;
    } else if (part === 0 && isSpace(c)) {
      return false;
    } else {
      part++;
    }
  }
  return inValue && part > 0 && !isSpace(dn.charCodeAt(dn.length - 1));
}

export function normalizeDn(dn: string): string {
  if (alreadyNormal(dn)) return dn;
  if (SIMPLE.test(dn) && !SPACE_TO_TRIM.test(dn)) return dn.toLowerCase();
  if (PLAIN.test(dn)) return dn.trim().split(',').map(normalizeAva).join(',');
  return splitUnescaped(dn.trim(), ',;')
    .map((rdn) => splitUnescaped(rdn, '+').map(normalizeAva).sort().join('+'))
    .join(',');
}

/** The RDNs of a DN in normal form, the entry's own first and the suffix last; none for the root DSE's empty DN. */
export function rdnsOf(dn: string): string[] {
  const normal = normalizeDn(dn);
  return normal === '' ? [] : splitUnescaped(normal, ',');
}

/** Whether an entry named `dn` is one a search of `base` with `scope` returns (by name; any spelling of either). */
export function withinScope(dn: string, base: string, scope: 'base' | 'one' | 'sub'): boolean {
  const entry = rdnsOf(dn);
  const suffix = rdnsOf(base);
  const depth = entry.length - suffix.length;
  if (depth < 0) return false;
  for (let i = 0; i < suffix.length; i++) if (entry[depth + i] !== suffix[i]) return false;
  return scope === 'sub' || (scope === 'base' ? depth === 0 : depth === 1);
}

/** The RDNs of a DN as written (escapes kept), the entry's own first; none for the empty DN. */
export function rdnsAsWritten(dn: string): string[] {
  const text = dn.trim();
  return text === '' ? [] : splitUnescaped(text, ',;').map((rdn) => rdn.trim());
}

/** The parent's DN as written (without the first RDN); empty for a DN of one RDN. */
export function parentDn(dn: string): string {
  return rdnsAsWritten(dn).slice(1).join(',');
}

/** The values `attribute` has in the DN's first RDN, unescaped and in their own case (none when it is not there). */
export function rdnValues(dn: string, attribute: string): string[] {
  const first = rdnsAsWritten(dn)[0] ?? '';
  const wanted = attribute.toLowerCase();
  const values: string[] = [];
  for (const ava of splitUnescaped(first, '+')) {
    const eq = ava.indexOf('=');
    if (eq < 0 || ava.slice(0, eq).trim().toLowerCase() !== wanted) continue;
    const value = ava.slice(eq + 1).trim();
    // A #-prefixed value is BER in hex, not the attribute's text.
    if (!value.startsWith('#')) values.push(unescapeValue(value));
  }
  return values;
}
