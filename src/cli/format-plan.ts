/** The plan as people read it: one line per operation with changed attributes, then counts. */
import { operationsOf, type Operation, type Plan } from '../model/plan.js';
import type { JsonValue } from '../model/scim.js';

const show = (v: JsonValue): string => (v === null ? '(none)' : typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v));

function line(op: Operation): string[] {
  const who = `${op.label} (${op.externalId})`;
  switch (op.kind) {
    case 'createUser':
      return [`  + create      ${who}`];
    case 'updateUser':
      return [
        `  ~ update      ${who}${op.adopt ? ' [adopt existing account]' : ''}`,
        ...op.changes.map((c) => `      ${c.path}: ${show(c.from)} -> ${show(c.to)}`),
      ];
    case 'deprovisionUser': {
      const why = { removed: 'gone from the source', inactive: 'inactive in the source', 'out-of-scope': 'out of scope' }[op.reason];
      return [`  - ${op.mode === 'delete' ? 'delete    ' : 'deactivate'}  ${who}: ${why}`];
    }
    case 'linkUser':
      return [`  = link        ${who} -> id ${op.scimId} (already matches)`];
    case 'createGroup':
      return [`  + group       ${op.label} (${op.externalId})`];
    case 'updateGroup':
      return [
        `  ~ group       ${op.label} (${op.externalId})${op.adopt ? ' [adopt existing group]' : ''}`,
        ...op.changes.map((c) => `      ${c.path}: ${show(c.from)} -> ${show(c.to)}`),
      ];
    case 'linkGroup':
      return [`  = link group  ${op.label} (${op.externalId}) -> id ${op.scimId}`];
    case 'patchGroupMembers':
      return [`  ~ members     ${op.label}: +${op.add.length} -${op.remove.length}`];
    case 'replaceGroup':
      return [`  ~ members     ${op.label}: set to ${op.memberKeys.length} (PUT)`];
    case 'deleteGroup':
      return [`  - delete group ${op.label} (${op.externalId}): ${op.reason === 'removed' ? 'gone from the source' : 'no longer selected'}`];
    case 'setManager':
      return [`  ~ manager     ${who}: ${op.managerKey === null ? '(none)' : `${op.managerLabel} (${op.managerKey})`}`];
  }
}

const NOUN: Record<Operation['kind'], string> = {
  createUser: 'to create',
  updateUser: 'to update',
  deprovisionUser: 'to deprovision',
  linkUser: 'to link',
  createGroup: 'groups to create',
  updateGroup: 'groups to update',
  linkGroup: 'groups to link',
  patchGroupMembers: 'membership changes',
  replaceGroup: 'group replacements',
  deleteGroup: 'groups to delete',
  setManager: 'manager references',
};

/** `limit`: most operation lines per target (the counts always cover everything). */
export function formatPlan(plan: Plan, limit = Infinity): string {
  const s = plan.source;
  const out: string[] = [
    `Plan ${plan.id}`,
    `Source ${s.description}: ${s.users} users (${s.activeUsers} active), ${s.invalidRecords} invalid of ${s.recordsRead} records`,
  ];
  for (const issue of s.issues.slice(0, 50)) out.push(`  ! ${issue}`);
  if (s.issues.length > 50) out.push(`  ! ... and ${s.issues.length - 50} more`);
  const warnings = s.warnings ?? [];
  for (const warning of warnings.slice(0, 50)) out.push(`  ~ ${warning}`);
  if (warnings.length > 50) out.push(`  ~ ... and ${warnings.length - 50} more`);
  for (const t of plan.targets) {
    out.push('', `Target ${t.target}: ${t.actualUsers} accounts, ${t.managedUsers} managed by scim-sync`);
    if (t.error) {
      out.push(`  ✗ cannot plan: ${t.error}`);
      continue;
    }
    const ops = operationsOf(t);
    let shown = 0;
    for (const op of ops) {
      if (shown++ >= limit) {
        out.push(`  ... ${ops.length - limit} more (see --json or plan --out)`);
        break;
      }
      out.push(...line(op));
    }
    for (const w of t.warnings) out.push(`  ! ${w}`);
    const counts = new Map<Operation['kind'], number>();
    for (const op of ops) counts.set(op.kind, (counts.get(op.kind) ?? 0) + 1);
    out.push(
      ops.length === 0
        ? '  no changes'
        : `  ${[...counts].map(([k, n]) => `${n} ${NOUN[k]}`).join(', ')}`,
    );
  }
  return out.join('\n');
}
