/** The run report as people read it. */
import type { OperationKind } from '../model/plan.js';
import { describeTotals, failedTargets, totals, type Outcome, type RunReport } from '../execution/run-report.js';

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

/** Failures, skips and partial operations listed per target; the counts cover the rest. */
const LISTED = 100;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function formatReport(report: RunReport): string {
  const out: string[] = [`Applied ${report.planId} (${report.startedAt} -> ${report.finishedAt})`];
  for (const t of report.targets) {
    if (t.unreadable) {
      out.push(`  target ${t.target}: FAILED — could not be read: ${t.unreadable} (nothing was written to it)`);
      continue;
    }
    // In a fixed order: distributed mode counts outcomes in whatever order Redis returns them.
    const parts = (Object.keys(VERB) as OperationKind[])
      .filter((kind) => t.counts[kind])
      .map((kind) => {
        const c: Record<Outcome, number> = t.counts[kind]!;
        return `${VERB[kind]} ${c.ok}${c.failed ? ` (${c.failed} failed)` : ''}${c.partial ? ` (${c.partial} partial)` : ''}${c.skipped ? ` (${c.skipped} skipped)` : ''}`;
      });
    out.push(`  ${t.target}: ${parts.length > 0 ? parts.join(', ') : 'nothing to do'}`);
    if (t.stopped) out.push(`    ✗ ${t.stopped}`);
    for (const f of t.failures.slice(0, LISTED)) out.push(`    ✗ ${f.kind} ${f.label} (${f.externalId}): ${f.message}`);
    if (t.failures.length > LISTED) out.push(`    ... and ${t.failures.length - LISTED} more failures (see the audit log)`);
    // Reports stored by an earlier version (distributed `status`) have no skips.
    const skips = t.skips ?? [];
    for (const s of skips.slice(0, LISTED)) out.push(`    ${s.outcome === 'partial' ? '~' : '-'} ${s.kind} ${s.label} (${s.externalId}): ${s.outcome}: ${s.reason}`);
    if (skips.length > LISTED) out.push(`    ... and ${skips.length - LISTED} more skipped or partial (see the audit log)`);
  }
  const targets = failedTargets(report);
  const notDone = [
    targets.unreadable.length > 0 ? `${plural(targets.unreadable.length, 'target')} failed: ${targets.unreadable.join(', ')}` : '',
    targets.stopped.length > 0 ? `${plural(targets.stopped.length, 'target')} stopped: ${targets.stopped.join(', ')}` : '',
  ].filter(Boolean);
  out.push(`Total: ${describeTotals(totals(report))}${notDone.map((s) => `; ${s}`).join('')}`);
  return out.join('\n');
}
