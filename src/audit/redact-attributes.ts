/** The values the log leaves out: those of the attributes listed in `audit.redactAttributes`. */
import type { AttributeChange } from '../model/plan.js';

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
