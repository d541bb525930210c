/**
 * The steps that led to an operation and its end, as the provisioning log records them: what the
 * source said about the person or group, the scope verdict, how the account was matched, the
 * action, and the export with its outcome. Derived from the operation itself (its kind, reason and
 * matchedBy), so every executor records the same story. Pure.
 */
import type { AuditRecord, AuditStep } from '../audit/audit-sink.js';
import type { MatchedBy, Operation } from '../model/plan.js';

const MATCH: Record<MatchedBy, string> = {
  link: 'linked account (link store)',
  externalId: 'account carrying the source key as externalId',
  userName: 'unlinked account with the same userName, adopted (adopt: userName)',
  email: 'unlinked account with the same work email, adopted (adopt: email)',
  attribute: 'unlinked account with the same value, adopted (match.adopt)',
};

function sourceAndScope(op: Operation): [string, string | undefined] {
  switch (op.kind) {
    case 'deprovisionUser':
      return {
        removed: ['gone from the source', undefined],
        inactive: ['inactive in the source', undefined],
        'out-of-scope': ['in the source', "out of this target's scope"],
        'held-off': ['in the source', 'held off by an emergency deprovision'],
      }[op.reason] as [string, string | undefined];
    case 'deleteGroup':
      return op.reason === 'removed' ? ['group gone from the source', undefined] : ['group in the source', 'no longer selected for this target'];
    case 'createGroup':
    case 'updateGroup':
    case 'linkGroup':
    case 'patchGroupMembers':
    case 'replaceGroup':
      return ['group in the source', 'selected for this target'];
    default:
      return ['in the source', 'in scope'];
  }
}

function matchOf(op: Operation): string {
  if (op.kind === 'updateUser' && op.matchedBy === 'attribute' && op.matchedOn) return `unlinked account with the same ${op.matchedOn}, adopted (match.adopt)`;
  if ('matchedBy' in op && op.matchedBy) return MATCH[op.matchedBy];
  if (op.kind === 'createUser' || op.kind === 'createGroup') return 'no account: a new one';
  return 'scimId' in op && op.scimId ? 'linked' : 'resolved through the link store when run';
}

export function operationSteps(op: Operation, outcome: AuditRecord['outcome'], ended: { status?: number; note?: string; error?: { message: string } }): AuditStep[] {
  const [source, scope] = sourceAndScope(op);
  const exported = ended.error?.message ?? ended.note ?? (ended.status !== undefined ? `HTTP ${ended.status}` : 'done');
  return [
    { step: 'source', detail: source },
    ...(scope ? [{ step: 'scope' as const, detail: scope }] : []),
    { step: 'match', detail: matchOf(op) },
    { step: 'action', detail: op.kind },
    { step: 'export', detail: exported, outcome },
  ];
}
