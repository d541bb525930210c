/** `scim-sync status` as people read it. */
import type { QueueStatus, TargetStatus } from '../execution/bullmq/queue-status.js';
import { skipStatus } from '../engine/quarantine.js';
import type { QuarantineEntry } from '../state/quarantine-store.js';
import type { ParkedChange } from '../model/plan.js';
import type { LearnedShape } from '../state/write-memory.js';
import { attributeName } from '../targets/patch-shape.js';
import { parkedLines } from './format-plan.js';
import { clip } from '../model/printable.js';
import { formatReport } from './format-report.js';

const indent = (text: string, by: string) =>
  text
    .split('\n')
    .map((l) => by + l)
    .join('\n');

function counts(c: Record<string, number>): string {
  const waiting = (c['waiting'] ?? 0) + (c['prioritized'] ?? 0) + (c['paused'] ?? 0);
  return `${waiting} waiting, ${c['active'] ?? 0} in flight, ${c['delayed'] ?? 0} delayed (retry backoff), ${c['failed'] ?? 0} failed, ${c['completed'] ?? 0} completed`;
}

/** What the target's writes taught: PATCH shapes learned by attribute, and the changes parked. */
export interface TargetWrites {
  parked: ParkedChange[];
  shapes: Record<string, LearnedShape>;
}

function target(t: TargetStatus, quarantine: QuarantineEntry | undefined, writes: TargetWrites | undefined): string[] {
  const limits = [
    t.concurrency !== null ? `concurrency ${t.concurrency}` : null,
    t.rateLimit ? `rate limit ${t.rateLimit.requests} per ${t.rateLimit.perMs} ms` : null,
    t.rateLimitedForMs > 0 ? `paused by its rate limit for ${t.rateLimitedForMs} ms more` : null,
  ].filter(Boolean);
  const out = [`Target ${t.target} (queue ${t.queue}): ${counts(t.counts)}${limits.length ? `; ${limits.join(', ')}` : ''}`];
  if (quarantine) out.push(`  ⛔ ${clip(skipStatus(quarantine), 1000)}`);
  const learned = Object.entries(writes?.shapes ?? {}).filter(([, l]) => l.shape !== 'rfc');
  if (learned.length > 0) out.push(`  learned PATCH shapes: ${learned.map(([attribute, l]) => `${attributeName(attribute)} ${l.shape}`).join(', ')}`);
  out.push(...parkedLines(writes?.parked ?? [], '  '));
  out.push(t.lock ? `  cycle running: lock held by ${t.lock.holder} (renewed as it progresses; expires in ${Math.ceil(t.lock.ttlMs / 1000)} s otherwise)` : '  no cycle running');
  for (const j of t.inFlight) {
    out.push(`  > ${j.kind} ${j.label} (${j.externalId}) attempt ${j.attempts}${j.worker ? ` on ${j.worker}` : ''}${j.at ? ` since ${j.at}` : ''}`);
  }
  const failedTotal = t.counts['failed'] ?? t.failed.length;
  if (failedTotal > 0) out.push(`  failed operations (re-queue them with scim-sync retry --target ${t.target}):`);
  for (const j of t.failed) out.push(`    ✗ ${j.kind} ${j.label} (${j.externalId}) in ${j.planId}, ${j.attempts} attempt${j.attempts === 1 ? '' : 's'}${j.at ? `, ${j.at}` : ''}: ${j.reason ?? ''}`);
  if (failedTotal > t.failed.length) out.push(`    ... and ${failedTotal - t.failed.length} more`);
  if (t.lastCycle) {
    const c = t.lastCycle;
    out.push('  last cycle:');
    if (c.error) out.push(`    ✗ not planned: ${c.error}`);
    else out.push(indent(formatReport({ planId: c.planId, startedAt: c.enqueuedAt, finishedAt: c.finishedAt, targets: [c.report] }), '    '));
    for (const w of c.warnings.slice(0, 20)) out.push(`    ! ${w}`);
  } else {
    // The record expires failedRetentionHours after it was written: none may mean a long-idle target.
    out.push('  no cycle recorded: none has finished yet, or the last one finished longer ago than queue.failedRetentionHours');
  }
  return out;
}

export function formatStatus(
  status: QueueStatus,
  redis: string,
  quarantined: ReadonlyMap<string, QuarantineEntry> = new Map(),
  writes: ReadonlyMap<string, TargetWrites> = new Map(),
): string {
  const out = [`Distributed mode: Redis ${redis}, prefix ${status.prefix}, ${status.workers} worker connection${status.workers === 1 ? '' : 's'}`];
  if (status.schedule) out.push(`Schedule: cron "${status.schedule.cron}", next tick ${status.schedule.next ?? 'unknown (is a scheduler running?)'}`);
  for (const t of status.targets) out.push('', ...target(t, quarantined.get(t.target), writes.get(t.target)));
  out.push('', `Phases (control queue): ${counts(status.control)}`);
  for (const f of status.controlFailed) out.push(`  ✗ ${f.jobId} (target ${f.target}): ${f.reason}`);
  return out.join('\n');
}
