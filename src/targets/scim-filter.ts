/**
 * SCIM filter building (RFC 7644 §3.4.2.2). Values are JSON strings, so JSON escaping is exactly
 * the escaping the grammar asks for: `"` and `\` are escaped, control characters too.
 * The one place filters are written; only `eq` (and `and`) are used, the subset every server takes.
 */
export function eqFilter(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}
