/**
 * One person, acted on by hand: provision now, emergency deprovision (held in later cycles), and
 * release of that hold. The CLI's person commands and the web console both go through here, so a
 * person pushed from a browser is planned, checked, applied, held and recorded exactly as from a
 * shell; only the printing differs (`step`).
 */
import type { Initiator } from '../audit/audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError, SafetyError, asked, describeError, quoting, type Quoted } from '../errors.js';
import type { RunReport } from '../execution/run-report.js';
import { operationsOf, type Operation } from '../model/plan.js';
import { emergencyDeprovisionEvent, type Notifier } from '../notify/notifier.js';
import type { EmergencyHold } from '../planning/emergency-holds.js';
import type { QuarantineEntry } from '../state/quarantine-store.js';
import { applyPlan } from './apply-plan.js';
import { planPerson, type PersonPlan } from './one-person.js';
import { isSkipped, quarantinedTargets, skipStatus } from './quarantine.js';
import type { RunState } from './run-state.js';

export interface PersonActionOptions {
  /** Only these targets (the --target names). */
  only?: readonly string[];
  /** Told each step as it runs: the read, the match, each planned action, each target's result. */
  step?: (line: string | Quoted) => void;
  /** Describes an operation in one line, for the step "action: ..." (the CLI's plan formatter). */
  describe: (op: Operation) => string;
  /** Who asked: stamped on every record of the action, and on the hold. */
  who: { initiator: Initiator; by: string };
  notifier: Notifier;
  /** Run here rather than on the workers (the service, as its change-driven syncs do). */
  inline?: boolean;
  signal?: AbortSignal;
}

export interface PersonActionResult {
  person: PersonPlan;
  /** What was applied; absent when the safety check stopped it (`stopped`). */
  report?: RunReport;
  stopped?: SafetyError;
}

/**
 * Plans the person (as held off by a new hold when deprovisioning), stores the hold before any
 * write, records the request, applies, and for a deprovision notifies. A provision of someone not
 * in the source is refused: cutting an account off is deprovision's job, with a reason.
 */
async function actOnPerson(loaded: LoadedConfig, state: RunState, key: string, options: PersonActionOptions, reason?: string): Promise<PersonActionResult> {
  const { who } = options;
  const step = options.step ?? (() => undefined);
  const holdOff = reason !== undefined ? { time: new Date().toISOString(), reason, by: who.by } : undefined;
  const person = await planPerson(loaded, state, key, { ...(options.only ? { only: options.only } : {}), step, ...(holdOff ? { holdOff } : {}) });
  const hold = holdOff ? person.hold : undefined;
  if (reason === undefined && !person.user) {
    throw new ConfigError(quoting`${asked(key)} is not in the source (${person.plan.source.description}): nothing to provision; deprovision cuts an account off`);
  }
  if (hold) {
    // Stored before any write: whatever happens next, later cycles keep this person off.
    await state.holds.set(key, hold);
    step(`hold: stored in ${state.holds.where}, by ${who.by}`);
  }
  // Asked for by hand (an emergency deprovision above all), a target in quarantine is not left out
  // as cycles and change-driven syncs leave it: it is sent to, and its result reported, like any.
  // Said, since the cycles still leave it out until its next try.
  // Only a note: a quarantine file that cannot be read does not hold an emergency deprovision back.
  const quarantined = await quarantinedTargets(state.quarantine, loaded.config.quarantine).catch((error: unknown) => {
    step(`quarantine: could not be read, so not told here which targets are in it: ${describeError(error)}`);
    return new Map<string, QuarantineEntry>();
  });
  const now = new Date();
  for (const tp of person.plan.targets) {
    const entry = quarantined.get(tp.target);
    if (entry && isSkipped(entry, now)) step(`${tp.target}: in quarantine, sent to all the same (asked by hand; cycles and change-driven syncs leave it out until its next try): ${skipStatus(entry)}`);
    const ops = operationsOf(tp);
    const held = tp.held?.operations ?? [];
    if (ops.length === 0 && held.length === 0) step(`${tp.target}: action: nothing to do`);
    for (const op of ops) step(`${tp.target}: action: ${options.describe(op)}`);
    // Not "nothing to do": what a cycle would send is held back (the result step says why).
    for (const op of held) step(`${tp.target}: held, not applied: ${options.describe(op)}`);
  }
  state.audit.record({
    time: new Date().toISOString(),
    planId: person.plan.id,
    target: '*',
    action: reason === undefined ? 'person.provision' : 'person.deprovision',
    externalId: key,
    outcome: 'info',
    ...who,
    ...(reason !== undefined ? { note: `reason: ${reason}` } : {}),
  });
  // Distributed, from the CLI: the workers do it, and the command waits for their report.
  const executor = state.executor({ wait: true, initiator: who, ...(options.inline ? { inline: true } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  // The outage rule (minSourceUsers) judges whole reads; this one asked for a single person.
  const safety = { ...loaded.config.safety, minSourceUsers: Math.min(loaded.config.safety.minSourceUsers, 1) };
  const checked: LoadedConfig = { ...loaded, config: { ...loaded.config, safety } };
  // A full cycle planned before this read must not undo it (the service's cycles heed the clock):
  // marked before the apply, as a change-driven batch marks its people, so a cycle applying meanwhile
  // already skips this person.
  await state.personClock.mark([key], new Date(person.plan.binding.source.readAt));
  let report: RunReport;
  try {
    // One person named by hand: the mass-change rules have nothing to say about an emergency.
    report = await applyPlan(checked, person.plan, person.runtimes, state, executor, { overrideSafety: reason !== undefined });
  } catch (error) {
    if (!(error instanceof SafetyError)) throw error;
    return { person, stopped: error };
  }
  for (const t of report.targets) {
    const trouble = t.unreadable ?? t.stopped ?? (t.failures.length > 0 ? `${t.failures.length} failed: ${t.failures.map((f) => f.message).join('; ')}` : undefined);
    step(`${t.target}: result: ${trouble ?? (t.held ? `held: ${t.held}` : 'done')}`);
  }
  if (reason !== undefined) await options.notifier.notify(emergencyDeprovisionEvent(key, report.targets.map((t) => t.target), reason, who.by));
  return { person, report };
}

export function provisionPerson(loaded: LoadedConfig, state: RunState, key: string, options: PersonActionOptions): Promise<PersonActionResult> {
  return actOnPerson(loaded, state, key, options);
}

/** Emergency offboarding: the reason is required, and recorded with who asked. */
export function deprovisionPerson(loaded: LoadedConfig, state: RunState, key: string, reason: string, options: PersonActionOptions): Promise<PersonActionResult> {
  if (reason.trim() === '') throw new ConfigError('a deprovision must say why (the reason is recorded with who asked)');
  return actOnPerson(loaded, state, key, options, reason.trim());
}

/** Lifts a person's emergency hold, recorded; the next cycle plans them from the source again. */
export async function releasePerson(state: Pick<RunState, 'holds' | 'audit'>, key: string, who: { initiator: Initiator; by: string }): Promise<EmergencyHold> {
  const hold = await state.holds.lift(key);
  if (!hold) throw new ConfigError(quoting`${asked(key)} is not held by an emergency deprovision (no hold in ${state.holds.where})`);
  state.audit.record({
    time: new Date().toISOString(),
    planId: '-',
    target: '*',
    action: 'person.release',
    externalId: key,
    outcome: 'info',
    ...who,
    note: `hold set by ${hold.by} at ${hold.time}: ${hold.reason}; released by ${who.by}`,
  });
  return hold;
}
