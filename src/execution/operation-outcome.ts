/**
 * What every executor records when an operation ends: the audit record and the report's failure
 * entry. Shared so that the inline executor and BullMQ workers write the same audit log and report.
 */
import type { AuditRecord } from '../audit/audit-sink.js';
import { ScimSyncError, describeError } from '../errors.js';
import type { Operation } from '../model/plan.js';
import type { OperationResult } from './run-operation.js';
import { operationSteps } from './operation-steps.js';
import type { OperationFailure, OperationSkip } from './run-report.js';

/** Fields an outcome adds to the audit record beyond the operation itself. */
export interface OutcomeDetail {
  scimId?: string;
  note?: string;
  status?: number;
  error?: { code: string; message: string; detail?: string };
  durationMs?: number;
  /** An update that found its account gone and made it again (OperationResult.recreated). */
  recreated?: true;
}

/** An operation that returned: partial when it left something out. */
/** An operation that ran without error: ok; partial when it left some of its work out; unchanged when nothing was left to do. */
export function resultOutcome(result: OperationResult): 'ok' | 'partial' | 'unchanged' {
  return result.partial ? 'partial' : result.unchanged ? 'unchanged' : 'ok';
}

export function resultDetail(result: OperationResult): OutcomeDetail {
  const detail: OutcomeDetail = result.scimId ? { scimId: result.scimId } : {};
  if (result.recreated) detail.recreated = true;
  // Most operations end with nothing to say: no list to build and join for each of them.
  if (result.note === undefined && !result.partial && !result.notices?.length) return detail;
  const note = [result.note, result.partial && `partial: ${result.partial}`, ...(result.notices ?? [])].filter(Boolean).join('; ');
  if (note) detail.note = note;
  return detail;
}

/** The report entry of an operation skipped, or done in part, because something it needs does not exist. */
export function operationSkip(op: Operation, outcome: OperationSkip['outcome'], reason: string): OperationSkip {
  return { opId: op.id, kind: op.kind, externalId: op.externalId, label: op.label, outcome, reason };
}

/** The audit record of a target that could not be read, or stopped: `note` says why. */
export function targetFailedRecord(planId: string, target: string, note: string): AuditRecord {
  return { time: new Date().toISOString(), planId, target, action: 'target.failed', outcome: 'failed', note };
}


export function errorDetail(error: unknown): OutcomeDetail {
  const e = error instanceof ScimSyncError ? error : undefined;
  return {
    error: { code: e?.code ?? 'INTERNAL', message: e?.message ?? String(error), ...(e?.context.detail ? { detail: e.context.detail } : {}) },
    ...(e?.context.status !== undefined ? { status: e.context.status } : {}),
  };
}

/** The report entry for an operation that failed for good. */
export function operationFailure(op: Operation, error: unknown): OperationFailure {
  const e = error instanceof ScimSyncError ? error : undefined;
  return {
    opId: op.id,
    kind: op.kind,
    externalId: op.externalId,
    label: op.label,
    code: e?.code ?? 'INTERNAL',
    message: describeError(error),
    ...(e?.context.status !== undefined ? { status: e.context.status } : {}),
    ...(e?.context.detail ? { detail: e.context.detail } : {}),
  };
}

/**
 * The time now as ISO 8601, made once per millisecond: operations end several to a millisecond
 * when the target answers fast, and toISOString is a large part of building their records.
 */
let lastMs = NaN;
let lastIso = '';
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** An operation's record: its outcome, or a decision not to run it (skipped, held). Values of changes are redacted by the sink. */
export function operationAuditRecord(
  planId: string,
  target: string,
  op: Operation,
  outcome: AuditRecord['outcome'],
  attempts: number,
  detail: OutcomeDetail,
): AuditRecord {
  // Built by assignment, in the order the log's lines have always had (a key set twice keeps its
  // first place, as with spreads): one object per operation rather than one per conditional part.
  const record = { time: isoNow(), planId, changeId: op.id, target, action: op.kind, externalId: op.externalId, label: op.label } as AuditRecord;
  if ('scimId' in op) record.scimId = op.scimId;
  Object.assign(record, detail);
  record.outcome = outcome;
  record.attempts = attempts;
  if (op.kind === 'createUser' && op.unlistedLink !== undefined && (outcome === 'ok' || outcome === 'partial')) record.recreated = true;
  if (op.kind === 'updateUser') record.changed = op.changes.map((c) => c.path);
  if (op.kind === 'updateUser' || op.kind === 'updateGroup') record.modifiedProperties = op.changes;
  // For the sink to take the values of audit.redactAttributes out of what quotes a server (not written).
  if (detail.error || detail.note !== undefined) {
    const sends = ['resource' in op ? op.resource : undefined, op.kind === 'updateUser' ? op.recreate : undefined].filter((r) => r !== undefined);
    if (sends.length > 0) record.sends = sends;
  }
  record.steps = operationSteps(op, outcome, detail);
  return record;
}
