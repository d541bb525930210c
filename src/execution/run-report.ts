/** What an apply did, per target: counts per operation kind and outcome, and every failure. */
import type { OperationKind } from '../model/plan.js';

export type Outcome = 'ok' | 'failed' | 'skipped';

export interface OperationFailure {
  opId: string;
  kind: OperationKind;
  externalId: string;
  label: string;
  code: string;
  message: string;
  status?: number;
  detail?: string;
}

export interface TargetReport {
  target: string;
  counts: Partial<Record<OperationKind, Record<Outcome, number>>>;
  failures: OperationFailure[];
  /** Operations not applied, with why (a saved plan's stale or already-applied operations). */
  skips?: { opId: string; kind: OperationKind; externalId: string; label: string; reason: string }[];
  /** Of the successful creates, how many found their account already there and took it over. */
  adopted?: Partial<Record<OperationKind, number>>;
  /** Why the target stopped early (bad credential), when it did. */
  stopped?: string;
}

export interface RunReport {
  planId: string;
  startedAt: string;
  finishedAt: string;
  targets: TargetReport[];
}

export function emptyTargetReport(target: string): TargetReport {
  return { target, counts: {}, failures: [] };
}

export function count(report: TargetReport, kind: OperationKind, outcome: Outcome): void {
  const c = (report.counts[kind] ??= { ok: 0, failed: 0, skipped: 0 });
  c[outcome]++;
}

export function totals(report: RunReport): Record<Outcome, number> {
  const t = { ok: 0, failed: 0, skipped: 0 };
  for (const target of report.targets) {
    for (const c of Object.values(target.counts)) {
      t.ok += c.ok;
      t.failed += c.failed;
      t.skipped += c.skipped;
    }
  }
  return t;
}
