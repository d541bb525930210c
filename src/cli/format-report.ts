/** The run report as people read it. */
import type { OperationKind } from '../model/plan.js';
import { totals, type RunReport } from '../execution/run-report.js';
import { clip } from '../model/printable.js';
import { summarised } from './summarise-lines.js';

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
    const parts = (Object.entries(t.counts) as [OperationKind, { ok: number; failed: number; skipped: number }][]).map(([kind, c]) => {
      const adopted = t.adopted?.[kind] ?? 0;
      const done = adopted > 0 ? `${VERB[kind]} ${c.ok - adopted}, adopted ${adopted} already there` : `${VERB[kind]} ${c.ok}`;
      return `${done}${c.failed ? ` (${c.failed} failed)` : ''}${c.skipped ? ` (${c.skipped} skipped)` : ''}`;
    });
    out.push(`  ${t.target}: ${parts.length > 0 ? parts.join(', ') : 'nothing to do'}`);
    if (t.stopped) out.push(`    ✗ ${t.stopped}`);
    for (const f of t.failures.slice(0, 100)) out.push(`    ✗ ${f.kind} ${clip(f.label)} (${clip(f.externalId)}): ${clip(f.message, 1000)}`);
    if (t.failures.length > 100) out.push(`    ... and ${t.failures.length - 100} more failures (see the audit log)`);
    out.push(...summarised((t.skips ?? []).map((k) => `${k.kind} ${k.label} (${k.externalId}) not applied, ${k.reason}`), '    - '));
  }
  const sum = totals(report);
  out.push(`Total: ${sum.ok} ok, ${sum.failed} failed, ${sum.skipped} skipped`);
  return out.join('\n');
}
