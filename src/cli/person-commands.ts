/**
 * One person on demand: `explain` (writes nothing), `provision` (that person now, through the same
 * planning, safety check and executor as a cycle), `deprovision` (emergency offboarding, held in
 * later cycles) and `release` (lifts the hold).
 */
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { planPerson, type PersonPlan } from '../engine/one-person.js';
import { deprovisionPerson, provisionPerson, releasePerson, type PersonActionOptions } from '../engine/person-actions.js';
import { cliInitiator } from '../engine/operator.js';
import { openState } from '../engine/state.js';
import { ConfigError } from '../errors.js';
import { operationsOf } from '../model/plan.js';
import { clip } from '../model/printable.js';
import { scopeText } from '../mapping/scope.js';
import { load, type CommonOptions } from './load-config.js';
import { withState } from './with-state.js';
import { exitForError } from './error-exit.js';
import { EXIT, exitForReport } from './exit-codes.js';
import { operationLines } from './format-plan.js';
import { formatReport } from './format-report.js';
import { commandNotifier } from './notifier.js';
import { stderrWarning, type Io } from './io.js';

interface PersonOptions extends CommonOptions {
  user: string;
}

function sourceLine(p: PersonPlan): string {
  if (p.sourceHeld) return `${clip(p.key)}: held: the source rejected this person's record (an invalid or duplicate row); no target is changed for them until it reads clean`;
  if (!p.user) return `${clip(p.key)}: not in the source`;
  const where = `${clip(p.user.ref.location)}${p.user.ref.line ? `:${p.user.ref.line}` : ''}`;
  return `${clip(p.key)}: ${p.user.active ? 'active' : 'inactive'} in the source (${where})`;
}

function explainJson(p: PersonPlan): unknown {
  return {
    key: p.key,
    source: p.user ? { found: true, active: p.user.active, ref: p.user.ref, attributes: p.user.attributes, managerKey: p.user.managerKey ?? null, groups: p.user.groups ?? [] } : { found: false },
    sourceHeld: p.sourceHeld,
    hold: p.hold ?? null,
    targets: p.targets.map((t) => {
      const tp = p.plan.targets.find((x) => x.target === t.target);
      return {
        target: t.target,
        ...(t.error ? { error: t.error } : {}),
        scope: t.scope ?? null,
        match: { by: t.matchedBy, scimId: t.account?.id ?? null, adopt: t.adopt ?? null },
        mapped: t.mapped ?? null,
        operations: tp ? operationsOf(tp) : [],
        held: tp?.held ? { reason: tp.held.reason, operations: tp.held.operations } : null,
        warnings: tp?.warnings ?? [],
      };
    }),
  };
}

function explainText(p: PersonPlan): string {
  const out = [sourceLine(p)];
  if (p.user) for (const [name, value] of Object.entries(p.user.attributes)) out.push(`    ${clip(name)}: ${clip(JSON.stringify(value))}`);
  if (p.hold) out.push(`  held off by emergency deprovision ("${clip(p.hold.reason)}", by ${clip(p.hold.by)}, ${p.hold.time}): planned as out of scope until the source record changes or scim-sync release`);
  for (const t of p.targets) {
    out.push('', `${clip(t.target)}:`);
    if (t.error) {
      out.push(`  could not be read: ${clip(t.error)}`);
      continue;
    }
    if (t.scope) {
      if (t.scope.filters.length === 0) out.push('  scope: in scope (no filters)');
      else {
        out.push(`  scope: ${scopeText(t.scope)}`);
        t.scope.filters.forEach((f, i) => {
          out.push(`    filter ${i + 1}: ${f.passed ? 'matches' : 'does not match'}`);
          for (const c of f.clauses) out.push(`      ${c.passed ? 'pass' : 'FAIL'}  ${clip(c.attribute)} ${clip(c.test)} (value ${clip(JSON.stringify(c.values))})`);
        });
      }
    }
    const how = { link: 'linked in the link store', externalId: 'found by externalId', userName: 'found by userName', email: 'found by email', none: 'none' }[t.matchedBy];
    const adoption =
      t.matchedBy === 'userName' || t.matchedBy === 'email'
        ? t.adopt === t.matchedBy
          ? `; adopt: ${t.adopt} takes it over`
          : `; not managed by scim-sync, left alone (adopt: ${t.adopt ?? 'none'})`
        : '';
    out.push(`  match: ${t.account ? `account ${clip(t.account.id)} (${how}${adoption})` : 'no account'}`);
    if (t.mapped) out.push(`  mapped: ${clip(JSON.stringify(t.mapped), 2000)}`);
    const tp = p.plan.targets.find((x) => x.target === t.target);
    const ops = tp ? operationsOf(tp) : [];
    out.push(`  next cycle: ${ops.length === 0 ? 'nothing to do' : ''}`.trimEnd());
    for (const op of ops) out.push(...operationLines(op).map((l) => `  ${l}`));
    if (tp?.held?.operations.length) {
      out.push(`  held, not applied: ${clip(tp.held.reason)}`);
      for (const op of tp.held.operations) out.push(...operationLines(op).map((l) => `  ${l}`));
    }
    for (const w of tp?.warnings ?? []) out.push(`  warning: ${clip(w)}`);
  }
  return out.join('\n');
}

/** Reads the source, the person's accounts and the links; writes nothing (no lock, no audit). */
export async function explainCommand(opts: PersonOptions, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  selectTargets(loaded, opts.target);
  const state = await openState(loaded, { lock: false, audit: false, readOnly: true, log: (line) => io.err(line) });
  try {
    const person = await planPerson(loaded, state, opts.user, { ...(opts.target ? { only: opts.target } : {}) });
    io.out(opts.json ? JSON.stringify(explainJson(person), null, 2) : explainText(person));
    return person.targets.some((t) => t.error) ? EXIT.FAILED_OPERATIONS : EXIT.OK;
  } finally {
    await state.close();
  }
}

/** Plans the person (with `hold` when deprovisioning), applies it, reports; each step printed as it runs. */
async function actOnPerson(opts: PersonOptions, io: Io, command: 'provision' | 'deprovision', reason?: string): Promise<number> {
  const loaded = load(opts.config, io);
  const targets = selectTargets(loaded, opts.target).map(([name]) => name);
  const initiator = cliInitiator(command === 'provision' ? 'on-demand' : 'cli');
  const state = await openState(loaded, { lock: true, audit: true, targets, log: (line) => io.err(line), initiator });
  return withState(state, io, undefined, async () => {
    // With --json the steps go to stderr: stdout holds the one report document.
    const say = opts.json ? io.err : io.out;
    say(`${command} ${clip(opts.user)}:`);
    const options: PersonActionOptions = {
      ...(opts.target ? { only: opts.target } : {}),
      step: (line) => say(`  ${clip(String(line), 500)}`),
      describe: (op) => operationLines(op)[0]!.trim().replace(/\s+/g, ' '),
      who: initiator,
      notifier: commandNotifier(loaded, stderrWarning(io), state.audit),
    };
    const { report, stopped } =
      command === 'provision' ? await provisionPerson(loaded, state, opts.user, options) : await deprovisionPerson(loaded, state, opts.user, reason ?? '', options);
    if (stopped) return exitForError(stopped, io, { json: !!opts.json });
    io.out(opts.json ? JSON.stringify(report, null, 2) : `\n${formatReport(report!)}`);
    return exitForReport(report!);
  });
}

export function provisionCommand(opts: PersonOptions, io: Io): Promise<number> {
  return actOnPerson(opts, io, 'provision');
}

export function deprovisionCommand(opts: PersonOptions & { reason: string }, io: Io): Promise<number> {
  if (opts.reason.trim() === '') throw new ConfigError('--reason must say why (it is recorded with who asked)');
  return actOnPerson(opts, io, 'deprovision', opts.reason);
}

export async function releaseCommand(opts: PersonOptions, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  // Embedded: the state directory's lock (holds.json is rewritten). Distributed: no target's lock,
  // since lifting a hold is one Redis command and must not wait for a cycle to end.
  const initiator = cliInitiator();
  const state = await openState(loaded, { lock: true, targets: [], audit: true, log: (line) => io.err(line), initiator });
  return withState(state, io, undefined, async () => {
    const hold = await releasePerson(state, opts.user, initiator);
    io.out(`released ${clip(opts.user)} (held since ${hold.time} by ${clip(hold.by)}: ${clip(hold.reason)}); the next cycle plans them from the source again`);
    return EXIT.OK;
  });
}
