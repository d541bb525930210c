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

export function normalizeDn(dn: string): string {
  if (SIMPLE.test(dn) && !SPACE_TO_TRIM.test(dn)) return dn.toLowerCase();
  if (PLAIN.test(dn)) return dn.trim().split(',').map(normalizeAva).join(',');
  return splitUnescaped(dn.trim(), ',;')
    .map((rdn) => splitUnescaped(rdn, '+').map(normalizeAva).sort().join('+'))
    .join(',');
}
