/**
 * Review commands: the access report, and the staged change sets a safety stop leaves (list,
 * approve, reject). Sets and rejections are where the mode keeps them (the state directory, or
 * Redis, so any machine reviews what a cycle on another staged). The access report is embedded
 * only for now: distributed workers write their audit records on their own machines.
 */
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { ConfigError } from '../errors.js';
import { makeAccessReport } from '../engine/access-report.js';
import { cliInitiator } from '../engine/operator.js';
import { approveStaged, rejectStaged, stagedRuntimes } from '../engine/review-staged.js';
import { findStaged, recoverStaged } from '../engine/staged-sets.js';
import { openState } from '../engine/state.js';
import { operationsOf } from '../model/plan.js';
import { describeTaker, type StagedSet, type TakenSet } from '../state/staged-store.js';
import { clip } from '../model/printable.js';
import { load, type CommonOptions } from './load-config.js';
import { withState } from './with-state.js';
import { EXIT, exitForReport } from './exit-codes.js';
import { formatAccessCsv, formatAccessTable } from './format-access-report.js';
import { formatReport } from './format-report.js';
import type { Io } from './io.js';

function embeddedOnly(loaded: LoadedConfig, command: string): void {
  if (loaded.config.queue) throw new ConfigError(`scim-sync ${command} is not yet in distributed mode (${loaded.file} has queue:): run it against an embedded config`);
}

export async function reportCommand(opts: CommonOptions & { format?: 'table' | 'csv' | 'json' }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  embeddedOnly(loaded, 'report');
  selectTargets(loaded, opts.target);
  // Read-only: no lock, nothing folded or written.
  const state = await openState(loaded, { lock: false, audit: false, readOnly: true, log: (line) => io.err(line) });
  try {
    const report = await makeAccessReport(loaded, state.links, opts.target);
    const format = opts.json ? 'json' : (opts.format ?? 'table');
    io.out(format === 'json' ? JSON.stringify(report, null, 2) : format === 'csv' ? formatAccessCsv(report) : formatAccessTable(report));
    return report.targets.some((t) => t.error) ? EXIT.FAILED_OPERATIONS : EXIT.OK;
  } finally {
    await state.close();
  }
}

function stagedRow(s: StagedSet) {
  return {
    id: s.id,
    createdAt: s.createdAt,
    planId: s.plan.id,
    targets: s.plan.targets.map((t) => ({ target: t.target, deprovisions: operationsOf(t).length, managedUsers: t.managedUsers })),
    reasons: s.reasons,
  };
}

function takenRow(t: TakenSet) {
  const { pid, host, since } = t.taker;
  return { ...stagedRow(t.set), takenBy: { pid, host, since, heartbeatAgeMs: Math.round(t.heartbeatAgeMs) } };
}

export async function stagedCommand(opts: { config: string; json?: boolean }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  // No lock: listing must work while a run holds it. Audited: a set whose taker is gone is put back first (staged.recovered).
  const initiator = cliInitiator();
  const state = await openState(loaded, { lock: false, audit: true, readOnly: true, log: (line) => io.err(line), initiator });
  let sets: StagedSet[];
  let taken: TakenSet[];
  try {
    taken = await recoverStaged(state);
    sets = await state.staged.list();
  } finally {
    await state.close();
  }
  const rows = sets.map(stagedRow);
  if (opts.json) {
    io.out(JSON.stringify({ staged: rows, taken: taken.map(takenRow) }, null, 2));
    return EXIT.OK;
  }
  const targets = (r: ReturnType<typeof stagedRow>) => r.targets.map((t) => `${clip(t.target)}: ${t.deprovisions} deprovision${t.deprovisions === 1 ? '' : 's'} of ${t.managedUsers} managed`).join(', ');
  if (rows.length === 0) io.out('No staged change sets.');
  for (const r of rows) {
    io.out(`${r.id}  staged ${r.createdAt}  ${targets(r)}`);
    for (const reason of r.reasons) io.out(`    ${clip(reason, 1000)}`);
  }
  if (rows.length > 0) io.out(`\nscim-sync approve ID --config ${opts.config} applies what still holds; scim-sync reject ID drops it.`);
  if (taken.length > 0) io.out(`\nBeing decided now (an approve or reject took them; back on the list should its process end before it is done):`);
  for (const t of taken) io.out(`${t.set.id}  staged ${t.set.createdAt}  ${targets(stagedRow(t.set))}\n    taken by ${clip(describeTaker(t), 300)}`);
  return EXIT.OK;
}

export async function approveCommand(id: string, opts: { config: string; json?: boolean; signal?: AbortSignal }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  // Read once to learn its targets, whose locks are taken; read again under them, so a set that
  // another machine approved or rejected meanwhile is not applied twice.
  const initiator = cliInitiator();
  const peek = await openState(loaded, { lock: false, audit: true, readOnly: true, log: (line) => io.err(line), initiator });
  let targets: string[];
  try {
    const { set, where } = await findStaged(peek, id);
    targets = [...stagedRuntimes(loaded, set, where).keys()];
  } finally {
    await peek.close();
  }
  const state = await openState(loaded, { lock: true, audit: true, targets, log: (line) => io.err(line), initiator });
  return withState(state, io, opts.signal, async () => {
    const { set, where } = await state.staged.get(id);
    const runtimes = stagedRuntimes(loaded, set, where);
    const { report, stale, kept } = await approveStaged(loaded, set, runtimes, state, initiator.by, opts.signal);
    if (opts.json) io.out(JSON.stringify({ approved: id, report, ...(kept ? { kept } : {}) }, null, 2));
    else {
      io.out(formatReport(report));
      io.out(`\nApproved ${id}${stale.length > 0 ? `: ${stale.length} no longer holding, not applied (the next run plans them afresh)` : ''}.`);
      if (kept) io.out(`${id} stays staged, to approve again: ${clip(kept, 1000)}.`);
    }
    // Not all of the decision could be carried out now: not a clean exit.
    return kept ? Math.max(exitForReport(report), EXIT.FAILED_OPERATIONS) : exitForReport(report);
  });
}

export async function rejectCommand(id: string, opts: { config: string; json?: boolean }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  // Embedded: the state directory's lock. Distributed: no target's lock, since rejecting writes
  // only Redis hashes, one command each, and must not wait for a cycle to end.
  const initiator = cliInitiator();
  const state = await openState(loaded, { lock: true, targets: [], audit: true, log: (line) => io.err(line), initiator });
  return withState(state, io, undefined, async () => {
    const n = await rejectStaged(id, state, initiator.by);
    if (opts.json) io.out(JSON.stringify({ rejected: id, deprovisions: n }, null, 2));
    else io.out(`Rejected ${id}: ${n} deprovision${n === 1 ? '' : 's'} will not be planned again while the person's source record stays as it is.`);
    return EXIT.OK;
  });
}
