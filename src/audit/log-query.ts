/** Which provisioning log records a `scim-sync log` query asks for. Pure. */
import type { AuditRecord } from './audit-sink.js';

export interface LogQuery {
  /** A person's source key, userName or email: matches externalId or label, case-insensitively. */
  user?: string;
  targets?: readonly string[];
  actions?: readonly string[];
  /** Outcomes, or the console words for them (success, failure, warning). */
  statuses?: readonly string[];
  cycle?: string;
  since?: Date;
  until?: Date;
}

/** The words IT consoles use for an outcome, and the outcome each one means. */
const STATUS_WORDS: Record<string, AuditRecord['outcome']> = { success: 'ok', failure: 'failed', warning: 'partial' };

export const OUTCOMES: readonly AuditRecord['outcome'][] = ['ok', 'partial', 'failed', 'skipped', 'unchanged', 'held', 'info'];

/** A status word as the outcome it means, or undefined when it is neither. */
export function outcomeOf(word: string): AuditRecord['outcome'] | undefined {
  const w = word.toLowerCase();
  return STATUS_WORDS[w] ?? OUTCOMES.find((o) => o === w);
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

export function matchesQuery(record: AuditRecord, q: LogQuery): boolean {
  if (q.user !== undefined && !same(record.externalId, q.user) && !same(record.label, q.user)) return false;
  if (q.targets && !q.targets.includes(record.target)) return false;
  if (q.actions && !q.actions.some((a) => same(record.action, a))) return false;
  if (q.statuses && !q.statuses.some((s) => outcomeOf(s) === record.outcome)) return false;
  if (q.cycle !== undefined && (record.cycleId ?? record.planId) !== q.cycle) return false;
  const time = Date.parse(record.time);
  if (q.since && !(time >= q.since.getTime())) return false;
  if (q.until && !(time <= q.until.getTime())) return false;
  return true;
}
