/** The plan as people read it: one line per operation with changed attributes, then counts. */
import { operationsOf, type MemberCheckCounts, type Operation, type ParkedChange, type Plan } from '../model/plan.js';
import { clip } from '../model/printable.js';
import type { JsonValue } from '../model/scim.js';
import { summarised } from './summarise-lines.js';

const show = (v: JsonValue): string => (v === null ? '(none)' : clip(JSON.stringify(v)));

/** Every value in these lines comes from a source or a server: clipped (see printable.ts). */
export function operationLines(op: Operation): string[] {
  const who = `${clip(op.label)} (${clip(op.externalId)})`;
  switch (op.kind) {
    case 'createUser':
      return [`  + create      ${who}${op.unlistedLink !== undefined ? ` (again: its linked account ${clip(op.unlistedLink)} is not in the listing)` : ''}`];
    case 'updateUser':
      return [
        `  ~ update      ${who}${op.adopt ? ' [adopt existing account]' : ''}`,
        ...op.changes.map((c) => `      ${c.path}: ${show(c.from)} -> ${show(c.to)}`),
      ];
    case 'deprovisionUser': {
      const why = { removed: 'gone from the source', inactive: 'inactive in the source', 'out-of-scope': 'out of scope', 'held-off': 'held off by emergency deprovision' }[op.reason];
      const unlisted = op.unlisted ? ' (not in the listing: read by id first)' : '';
      return [`  - ${op.mode === 'delete' ? 'delete    ' : 'deactivate'}  ${who}: ${why}${unlisted}`];
    }
    case 'linkUser':
      return [`  = link        ${who} -> id ${clip(op.scimId)} (already matches${op.supersedes !== undefined ? `; takes it from ${clip(op.supersedes)}, gone from the source` : ''})`];
    case 'createGroup':
      return [`  + group       ${who}`];
    case 'updateGroup':
      return [
        `  ~ group       ${who}${op.adopt ? ' [adopt existing group]' : ''}${op.temporary ? ' [for now: its name goes to another group first]' : ''}${op.supersedes !== undefined ? ` (takes it from ${clip(op.supersedes)}, gone from the source)` : ''}`,
        ...op.changes.map((c) => `      ${c.path}: ${show(c.from)} -> ${show(c.to)}`),
      ];
    case 'linkGroup':
      return [`  = link group  ${who} -> id ${clip(op.scimId)}`];
    case 'patchGroupMembers':
      return [`  ~ members     ${clip(op.label)}: +${op.add.length} -${op.remove.length}`];
    case 'replaceGroup':
      return [`  ~ members     ${clip(op.label)}: set to ${op.memberKeys.length + (op.keep?.length ?? 0)} (PUT), -${op.remove?.length ?? 0}${op.keep?.length ? `, ${op.keep.length} held kept` : ''}`];
    case 'deleteGroup':
      return [`  - delete group ${who}: ${op.reason === 'removed' ? 'gone from the source' : 'no longer selected'}${op.members ? `, ${op.members} member${op.members === 1 ? '' : 's'} removed with it` : ''}`];
    case 'setManager':
      return [`  ~ manager     ${who}: ${op.from !== undefined ? `${clip(op.from)} -> ` : ''}${op.managerKey === null ? '(none)' : `${clip(op.managerLabel ?? '')} (${clip(op.managerKey)})`}`];
  }
}

/** A parked change as one line: what, whose, why, since when. */
export function parkedLine(p: ParkedChange): string {
  return `${p.attribute ?? p.kind} of ${p.label} (${p.externalId}): ${p.reason} (since ${p.since})`;
}

const PARKED_HINT = 'not sent while the same; a new source value or `run --retry-parked` sends it again';

/** The parked changes of a target, summarised, under a heading that says what parked means. */
export function parkedLines(parked: readonly ParkedChange[], indent: string): string[] {
  if (parked.length === 0) return [];
  return [`${indent}⏸ ${parked.length} parked change${parked.length === 1 ? '' : 's'} (${PARKED_HINT}):`, ...summarised(parked.map(parkedLine), `${indent}  `)];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What finding group members cost, on a server that returns them nowhere: the requests it took, and what the member memory answered. */
export function memberChecksLine(c: MemberCheckCounts, indent: string): string {
  const overdue = c.overdueGroups > 0 ? `; ${plural(c.overdueGroups, 'group')} due for a full check left for a later cycle (groups.verifyMembersPerCycle)` : '';
  return (
    `${indent}group members: ${plural(c.asked, 'group-and-user pair')} asked (${plural(c.verifiedGroups, 'group')} checked in full), ` +
    `${c.remembered} from memory (${plural(c.rememberedGroups, 'group')})${overdue}`
  );
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

function countsLine(ops: readonly Operation[]): string {
  const counts = new Map<Operation['kind'], number>();
  for (const op of ops) counts.set(op.kind, (counts.get(op.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${NOUN[k]}`).join(', ');
}

/**
 * `limit`: most operation lines per target (the counts always cover everything). Issues and
 * warnings that repeat one pattern are summarised; the plan's JSON keeps every one.
 */
export function formatPlan(plan: Plan, limit = Infinity): string {
  const s = plan.source;
  const out: string[] = [
    `Plan ${plan.id}`,
    `Source ${clip(s.description)}: ${s.users} users (${s.activeUsers} active), ${s.invalidRecords} invalid of ${s.recordsRead} records`,
  ];
  out.push(...summarised(s.issues, '  ! '));
  out.push(...summarised(s.warnings ?? [], '  ~ '));
  for (const t of plan.targets) {
    // A target that could not be read has no account count to give: "0 accounts" would say it is empty.
    out.push('', t.error ? `Target ${t.target}: not read` : `Target ${t.target}: ${t.actualUsers} accounts, ${t.managedUsers} managed by scim-sync`);
    if (t.error) {
      out.push(`  ✗ cannot plan: ${clip(t.error, 1000)}`);
      continue;
    }
    // Why a target that already manages people is not held to the create limit.
    if (t.firstSync) out.push(`  ~ first sync begun ${t.firstSync.since}, not yet complete: its rest (${t.firstSync.accounts} accounts in all) is not limited by the create check`);
    const ops = operationsOf(t);
    let shown = 0;
    for (const op of ops) {
      if (shown++ >= limit) {
        out.push(`  ... ${ops.length - limit} more (see --json or plan --out)`);
        break;
      }
      out.push(...operationLines(op));
    }
    // Where its deletion would stand: with the group operations, after the rest.
    for (const g of t.heldGroups ?? []) out.push(`  ⏸ held group  ${clip(g.label)} (${clip(g.externalId)}): not deleted: ${clip(g.reason, 1000)}`);
    out.push(...summarised(t.warnings, '  ! '));
    if (t.held) {
      const what = t.held.operations.length > 0 ? countsLine(t.held.operations) : 'nothing to deprovision this run';
      out.push(`  ⏸ held, not applied: ${what}: ${t.held.reason}`);
    }
    out.push(...parkedLines(t.parked ?? [], '  '));
    if (t.memberChecks) out.push(memberChecksLine(t.memberChecks, '  '));
    out.push(ops.length === 0 ? '  no changes' : `  ${countsLine(ops)}`);
  }
  out.push(...unconfiguredLines(plan));
  return out.join('\n');
}

/** Targets the state still links that the config no longer names: nobody there is deactivated any more. */
export function unconfiguredLines(plan: Plan): string[] {
  return (plan.unconfiguredTargets ?? []).flatMap((t) => {
    const what = [t.users > 0 ? plural(t.users, 'account') : '', t.groups > 0 ? plural(t.groups, 'group') : ''].filter(Boolean).join(' and ');
    return [
      '',
      `Target ${t.target}: not in ${plan.config}, but the state links ${what} there: scim-sync no longer deactivates anyone in it.`,
      `  Put the target back in the config; or, if the app is gone, drop its links: scim-sync forget --config ${plan.config} --target ${t.target}`,
    ];
  });
}

/**
 * A plan that changes nothing and has nothing to say: no operation, nothing held, parked or refused,
 * no warning, no source issue. `run --quiet` prints nothing for it (cron mails only what matters).
 */
export function saysNothing(plan: Plan): boolean {
  if (plan.source.issues.length > 0 || (plan.source.warnings?.length ?? 0) > 0 || plan.unconfiguredTargets?.length) return false;
  return plan.targets.every(
    (t) => !t.error && t.warnings.length === 0 && operationsOf(t).length === 0 && !t.held?.operations.length && !t.parked?.length && !t.heldGroups?.length,
  );
}

