/**
 * Group membership changes as PATCH requests a server accepts (quirk `maxMembersPerPatch`): `add`
 * and `remove` of member values, never a `replace` of the whole list (AWS refuses it, and it races
 * with other writers), at most `max` member values per request. Pure.
 */
import type { PatchOperation } from '../model/scim.js';

/** Requests in order, each a list of operations; removals go first so a full group can take the additions. */
export function memberPatches(add: readonly string[], remove: readonly string[], max: number | null): PatchOperation[][] {
  const changes = [...remove.map((id) => ({ op: 'remove' as const, id })), ...add.map((id) => ({ op: 'add' as const, id }))];
  const size = max ?? Math.max(1, changes.length);
  const requests: PatchOperation[][] = [];
  for (let i = 0; i < changes.length; i += size) {
    const chunk = changes.slice(i, i + size);
    const ops: PatchOperation[] = [];
    const removed = chunk.filter((c) => c.op === 'remove').map((c) => c.id);
    const added = chunk.filter((c) => c.op === 'add').map((c) => c.id);
    // One remove per member: `members[value eq "id"]` is the form every server takes.
    for (const id of removed) ops.push({ op: 'remove', path: `members[value eq ${JSON.stringify(id)}]` });
    if (added.length > 0) ops.push({ op: 'add', path: 'members', value: added.map((value) => ({ value })) });
    requests.push(ops);
  }
  return requests;
}
