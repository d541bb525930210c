/** The run report as people read it. */
import type { OperationKind } from '../model/plan.js';
import { totals, type RunReport } from '../execution/run-report.js';

const VERB: Record<OperationKind, string> = {
  createUser: 'created',
  updateUser: 'updated',
  deprovisionUser: 'deprovisioned',
  linkUser: 'linked',
  createGroup: 'groups created',
  updateGroup: 'groups updated',
  linkGroup: 'groups linked',
  patchGroupMembers: 'membership changes',
  replaceGroup: 'groups replaced',
  deleteGroup: 'groups deleted',
  setManager: 'managers set',
};

export function formatReport(report: RunReport): string {
  const out: string[] = [`Applied ${report.planId} (${report.startedAt} -> ${report.finishedAt})`];
  for (const t of report.targets) {
    const parts = (Object.entries(t.counts) as [OperationKind, { ok: number; failed: number; skipped: number }][]).map(
      ([kind, c]) => `${VERB[kind]} ${c.ok}${c.failed ? ` (${c.failed} failed)` : ''}${c.skipped ? ` (${c.skipped} skipped)` : ''}`,
    );
    out.push(`  ${t.target}: ${parts.length > 0 ? parts.join(', ') : 'nothing to do'}`);
    if (t.stopped) out.push(`    ✗ ${t.stopped}`);
    for (const f of t.failures.slice(0, 100)) out.push(`    ✗ ${f.kind} ${f.label} (${f.externalId}): ${f.message}`);
    if (t.failures.length > 100) out.push(`    ... and ${t.failures.length - 100} more failures (see the audit log)`);
  }
  const sum = totals(report);
  out.push(`Total: ${sum.ok} ok, ${sum.failed} failed, ${sum.skipped} skipped`);
  return out.join('\n');
}
