/**
 * SCIM filter building (RFC 7644 §3.4.2.2). Values are JSON strings, so JSON escaping is exactly
 * the escaping the grammar asks for: `"` and `\` are escaped, control characters too.
 * The one place filters are written; only `eq` (and `and`) are used, the subset every server takes.
 */
export function eqFilter(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}

/**
 * Whether group `groupId` holds user `userId`: `id eq "g" and members eq "u"`, the check AWS IAM
 * Identity Center documents for a server that returns no members; a match lists that group.
 */
export function memberCheckFilter(groupId: string, userId: string): string {
  return `${eqFilter('id', groupId)} and ${eqFilter('members', userId)}`;
}
