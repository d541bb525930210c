/** The run report as people read it. */
import type { OperationKind } from '../model/plan.js';
import { describeTotals, failedTargets, totals, type Outcome, type RunReport } from '../execution/run-report.js';
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

/** Failures, skips and partial operations listed per target; the counts cover the rest. */
const LISTED = 100;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const quarantineLine = (change: string) => `    ⛔ ${clip(change, 1000)}`;

export function formatReport(report: RunReport): string {
  // '-': no plan was made (every target was left out in quarantine).
  const out: string[] = [report.planId === '-' ? `Nothing applied (${report.finishedAt})` : `Applied ${report.planId} (${report.startedAt} -> ${report.finishedAt})`];
  for (const t of report.targets) {
    if (t.unreadable) {
      out.push(`  target ${t.target}: FAILED — could not be read: ${clip(t.unreadable, 1000)} (nothing was written to it)`);
      if (t.quarantine) out.push(quarantineLine(t.quarantine));
      continue;
    }
    if (t.quarantined) {
      out.push(`  target ${t.target}: SKIPPED — ${clip(t.quarantined, 1000)} (nothing was sent to it)`);
      continue;
    }
    // In a fixed order: distributed mode counts outcomes in whatever order Redis returns them.
    const parts = (Object.keys(VERB) as OperationKind[])
      .filter((kind) => t.counts[kind])
      .map((kind) => {
        const c: Record<Outcome, number> = t.counts[kind]!;
        const adopted = t.adopted?.[kind] ?? 0;
        // Reports stored by an earlier version (distributed `status`) have no `recreated`.
        const recreated = t.recreated?.[kind] ?? 0;
        const done = [
          `${VERB[kind]} ${c.ok - adopted - recreated}`,
          adopted > 0 ? `, adopted ${adopted} already there` : '',
          recreated > 0 ? `, re-created ${recreated} whose account${recreated === 1 ? ' was' : 's were'} gone` : '',
        ].join('');
        const more: [number | undefined, string][] = [
          [c.failed, 'failed'],
          [c.partial, 'partial'],
          [c.skipped, 'skipped'],
          [c.unchanged, 'already done'],
        ];
        return `${done}${more.map(([n, what]) => (n ? ` (${n} ${what})` : '')).join('')}`;
      });
    // A stopped target (refused, or still on the workers when waiting ended) may have had much to do.
    out.push(`  ${t.target}: ${parts.length > 0 ? parts.join(', ') : t.stopped ? 'nothing done' : 'nothing to do'}`);
    if (t.stopped) out.push(`    ✗ ${clip(t.stopped, 1000)}`);
    if (t.held) out.push(`    ⏸ ${clip(t.held, 1000)}`);
    // Reports stored by an earlier version (distributed `status`) have neither.
    for (const notice of t.notices ?? []) out.push(`    ℹ ${clip(notice, 1000)}`);
    const parked = t.parked?.length ?? 0;
    if (parked > 0) out.push(`    ⏸ ${parked} parked change${parked === 1 ? '' : 's'} not sent (listed with the plan; \`run --retry-parked\` sends them again)`);
    if (t.quarantine) out.push(quarantineLine(t.quarantine));
    for (const f of t.failures.slice(0, LISTED)) out.push(`    ✗ ${f.kind} ${clip(f.label)} (${clip(f.externalId)}): ${clip(f.message, 1000)}`);
    if (t.failures.length > LISTED) out.push(`    ... and ${t.failures.length - LISTED} more failures (see the audit log)`);
    // Reports stored by an earlier version (distributed `status`) have no skips.
    const skips = (t.skips ?? []).map((s) => `${s.outcome === 'partial' ? '~' : '-'} ${s.kind} ${s.label} (${s.externalId}): ${s.outcome}: ${s.reason}`);
    out.push(...summarised(skips, '    '));
  }
  const targets = failedTargets(report);
  const notDone = [
    targets.unreadable.length > 0 ? `${plural(targets.unreadable.length, 'target')} failed: ${targets.unreadable.join(', ')}` : '',
    targets.stopped.length > 0 ? `${plural(targets.stopped.length, 'target')} stopped: ${targets.stopped.join(', ')}` : '',
    targets.quarantined.length > 0 ? `${plural(targets.quarantined.length, 'target')} quarantined: ${targets.quarantined.join(', ')}` : '',
  ].filter(Boolean);
  out.push(`Total: ${describeTotals(totals(report))}${notDone.map((s) => `; ${s}`).join('')}`);
  return out.join('\n');
}
