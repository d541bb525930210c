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

/** Unescape an attribute value: `\,` -> `,`, `\c3\a9` -> `é` (bytes decoded as UTF-8). */
function unescapeValue(raw: string): string {
  const bytes: number[] = [];
  const text = raw.trim();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && isHex(text[i + 1]) && isHex(text[i + 2])) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '\\' && i + 1 < text.length) {
      bytes.push(...Buffer.from(text[i + 1]!, 'utf8'));
      i++;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function escapeValue(value: string): string {
  let out = '';
  for (const c of value) out += SPECIAL.has(c) ? `\\${c}` : c;
  return out;
}

export function normalizeDn(dn: string): string {
  return splitUnescaped(dn.trim(), ',;')
    .map((rdn) =>
      splitUnescaped(rdn, '+')
        .map((ava) => {
          const eq = ava.indexOf('=');
          if (eq < 0) return ava.trim().toLowerCase();
          const type = ava.slice(0, eq).trim().toLowerCase();
          const value = ava.slice(eq + 1).trim();
          // A #-prefixed value is BER in hex: compare it as written.
          return `${type}=${value.startsWith('#') ? value.toLowerCase() : escapeValue(unescapeValue(value).toLowerCase())}`;
        })
        .sort()
        .join('+'),
    )
    .join(',');
}

/** True when `dn` is `base` or below it (both normalised). */
export function isUnder(normalizedDn: string, normalizedBase: string): boolean {
  return normalizedDn === normalizedBase || normalizedDn.endsWith(`,${normalizedBase}`);
}
