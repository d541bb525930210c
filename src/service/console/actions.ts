/**
 * What an operator does from the console, each through the engine's own use case (the same path as
 * the CLI command), recorded in the provisioning log as started by `console` and done by
 * `console:<name>`. Applying a saved set (approve, retry) takes its turn with the full cycles and,
 * in distributed mode, its targets' cycle locks; a person's action runs at once, here, as the
 * service's change-driven syncs do. What the form named (a key, a set's id, a target) is shown back
 * as sent (echoed, html.ts), and refusals about it quote it so (error-text.ts).
 */
import { withInitiator } from '../../audit/audit-sink.js';
import { ConfigError, describeError, type Quoted } from '../../errors.js';
import { deprovisionPerson, provisionPerson, releasePerson, type PersonActionResult } from '../../engine/person-actions.js';
import { liftQuarantine } from '../../engine/quarantine.js';
import { approveStaged, rejectStaged, stagedRuntimes } from '../../engine/review-staged.js';
import { findStaged } from '../../engine/staged-sets.js';
import type { RunState } from '../../engine/run-state.js';
import type { RunReport } from '../../execution/run-report.js';
import type { ConsoleUser } from './auth.js';
import type { ConsoleContext } from './context.js';
import { echoed, html, query, type Html } from './html.js';
import { Refusal, shownRefusal } from './error-text.js';
import { actionResult } from './person-page.js';

export interface ActionPage {
  /** Html when it holds what the form named (echoed). */
  title: Html | string;
  body: Html;
  /** 200, or 409 when the action could not be done as asked. */
  status: number;
}

export function consoleWho(user: ConsoleUser): { initiator: 'console'; by: string } {
  return { initiator: 'console', by: `console:${user.name}` };
}

/** Refused up front: a person's source key as typed into a form. */
export function personKey(raw: string | null): string {
  const key = (raw ?? '').trim();
  if (key === '' || key.length > 256) throw new Refusal(409, html`Name a person by their source key (at most 256 characters).`);
  return key;
}

export async function personAction(ctx: ConsoleContext, user: ConsoleUser, kind: 'provision' | 'deprovision', key: string, reason: string): Promise<ActionPage> {
  const steps: (string | Quoted)[] = [];
  const options = {
    step: (line: string | Quoted) => steps.push(line),
    describe: (op: { kind: string; label: string }) => `${op.kind} ${op.label}`,
    who: consoleWho(user),
    notifier: ctx.notifier,
    inline: true,
    signal: ctx.signal,
  };
  const title = kind === 'provision' ? html`Provision ${echoed(key)}` : html`Emergency deprovision of ${echoed(key)}`;
  let result: PersonActionResult;
  try {
    result = kind === 'provision' ? await provisionPerson(ctx.loaded, ctx.state, key, options) : await deprovisionPerson(ctx.loaded, ctx.state, key, reason, options);
  } catch (error) {
    ctx.log(`console: ${kind} of ${key} by ${user.name} failed: ${describeError(error)}`);
    return { title, status: 409, body: actionResult(title, key, steps, undefined, shownRefusal(error, { freeText: true, viewer: false }, ctx.log)) };
  }
  ctx.log(`console: ${kind} of ${key} by ${user.name}${result.stopped ? ': stopped by the safety check' : ''}`);
  const problem = result.stopped ? `Stopped by the safety check: ${result.stopped.reasons.join('; ')}` : undefined;
  return { title, status: problem ? 409 : 200, body: actionResult(title, key, steps, result.report, problem) };
}

export async function releaseAction(ctx: ConsoleContext, user: ConsoleUser, key: string): Promise<ActionPage> {
  const hold = await releasePerson(ctx.state, key, consoleWho(user));
  ctx.log(`console: ${key} released by ${user.name}`);
  return {
    title: html`Released ${echoed(key)}`,
    status: 200,
    body: html`<div class="notice ok" role="status">Released ${echoed(key)} (held since ${hold.time} by ${hold.by}: ${hold.reason}); the next cycle plans them from the source again.</div><p><a href="/ui/person${echoed(query({ key }))}">Back to ${echoed(key)}</a></p>`,
  };
}

/** A target the form named, refused unless the config has it. */
function configuredTarget(ctx: ConsoleContext, target: string): string {
  if (!Object.hasOwn(ctx.loaded.config.targets, target)) throw new Refusal(404, html`No target ${echoed(target)} in the config.`);
  return target;
}

export async function liftAction(ctx: ConsoleContext, user: ConsoleUser, named: string): Promise<ActionPage> {
  const target = configuredTarget(ctx, named);
  const shown = echoed(target);
  const previous = await liftQuarantine({ store: ctx.state.quarantine, audit: ctx.state.audit, notifier: ctx.notifier }, target, `lifted in the console by ${user.name}`, consoleWho(user));
  ctx.log(`console: quarantine of ${target} ${previous ? 'lifted' : 'not found'} by ${user.name}`);
  return previous
    ? { title: html`Quarantine of ${shown} cleared`, status: 200, body: html`<div class="notice ok" role="status">Target ${shown} is out of quarantine (quarantined since ${previous.since}: ${previous.reason}); the next cycle includes it.</div><p><a href="/ui">Overview</a></p>` }
    : { title: html`${shown} is not quarantined`, status: 409, body: html`<div class="notice bad" role="status">Target ${shown} is not quarantined.</div><p><a href="/ui">Overview</a></p>` };
}

/**
 * Runs `work` in its turn with the full cycles, with the state under these targets' cycle locks in
 * distributed mode (refused while a cycle holds one, as the CLI's would be).
 */
async function underLocks<T>(ctx: ConsoleContext, targets: readonly string[], work: (state: RunState) => Promise<T>): Promise<T> {
  return ctx.reconcile.turns.run(async () => {
    if (!ctx.state.lockCycle) return work(ctx.state);
    const lease = await ctx.state.lockCycle(targets);
    try {
      if (lease.busy.length > 0) throw new ConfigError(`a cycle still runs on ${lease.busy.join(', ')}: try again when it has ended`);
      return await work(lease.state);
    } finally {
      await lease.release();
    }
  });
}

function reportTable(report: RunReport): Html {
  return html`<table><thead><tr><th>Target</th><th>Result</th></tr></thead><tbody>${report.targets.map((t) => {
    const trouble = t.unreadable ?? t.stopped ?? (t.failures.length > 0 ? t.failures.map((f) => `${f.label}: ${f.message}`).join('; ') : undefined);
    const done = Object.values(t.counts).reduce((n, c) => n + c.ok, 0);
    return html`<tr><td>${t.target}</td><td>${trouble ? html`<span class="bad">${trouble}</span>` : html`<span class="ok">${done} done</span>`}</td></tr>`;
  })}</tbody></table>`;
}

export async function approveAction(ctx: ConsoleContext, user: ConsoleUser, id: string): Promise<ActionPage> {
  const who = consoleWho(user);
  const { set, where } = await findStaged(withAudit(ctx.state, who), id);
  const targets = [...stagedRuntimes(ctx.loaded, set, where).keys()];
  const { report, stale, kept } = await underLocks(ctx, targets, async (state) => {
    // Read again under the locks: a set another machine approved or rejected meanwhile is gone.
    const again = await state.staged.get(id);
    const stamped: RunState = { ...state, executor: (o) => state.executor({ ...o, initiator: who }) };
    return approveStaged(ctx.loaded, again.set, stagedRuntimes(ctx.loaded, again.set, again.where), withAudit(stamped, who), who.by, ctx.signal);
  });
  ctx.log(`console: staged set ${id} approved by ${user.name}`);
  const shown = echoed(id);
  return {
    title: html`Approved ${shown}`,
    status: 200,
    body: html`<div class="notice ok" role="status">Approved ${shown}${stale.length > 0 ? `: ${stale.length} no longer holding, not applied (the next cycle plans them afresh)` : ''}.</div>${kept ? html`<div class="notice bad" role="status">${shown} stays staged, to approve again: ${kept}.</div>` : ''}${reportTable(report)}<p><a href="/ui/staged">Staged changes</a></p>`,
  };
}

export async function rejectAction(ctx: ConsoleContext, user: ConsoleUser, id: string): Promise<ActionPage> {
  const who = consoleWho(user);
  const n = await rejectStaged(id, withAudit(ctx.state, who), who.by);
  ctx.log(`console: staged set ${id} rejected by ${user.name}`);
  return {
    title: html`Rejected ${echoed(id)}`,
    status: 200,
    body: html`<div class="notice ok" role="status">Rejected ${echoed(id)}: ${n} deprovision${n === 1 ? '' : 's'} will not be planned again while the person's source record stays as it is.</div><p><a href="/ui/staged">Staged changes</a></p>`,
  };
}

export async function retryAction(ctx: ConsoleContext, user: ConsoleUser, named: string): Promise<ActionPage> {
  if (!ctx.loaded.config.queue) throw new Refusal(409, html`Retrying failed operations is for distributed mode.`);
  const target = configuredTarget(ctx, named);
  const shown = echoed(target);
  const who = consoleWho(user);
  const { retryFailed, retryLeftOut } = await import('../../engine/retry-failed.js');
  const retry = await underLocks(ctx, [target], (state) => retryFailed(ctx.loaded, withAudit({ ...state, executor: (o) => state.executor({ ...o, initiator: who }) }, who), [target]));
  const n = retry.operations.get(target) ?? 0;
  const quarantined = retry.quarantined.has(target);
  ctx.log(`console: ${quarantined ? `retry of ${target} left it out in quarantine` : `${n} failed operations of ${target} retried`} by ${user.name}`);
  // In quarantine, the line retryLeftOut gives is the whole outcome: "0 re-queued" would read as nothing to do.
  const headline = quarantined
    ? html`Nothing re-queued: ${shown} is in quarantine.`
    : html`${n} failed operation${n === 1 ? '' : 's'} of ${shown} re-queued${n > 0 ? html` as cycle <code>${retry.planId}</code>, in phase order` : ''}.`;
  return {
    title: html`Retry of ${shown}`,
    status: 200,
    body: html`<div class="notice ${retry.unchecked.has(target) || quarantined ? 'bad' : 'ok'}" role="status">${headline}</div>${retryLeftOut(retry, target).map((line) => html`<p>${line}</p>`)}<p><a href="/ui/queues">Queues</a></p>`,
  };
}

/** The state with every record it writes stamped with who acted. */
function withAudit(state: RunState, who: { initiator: 'console'; by: string }): RunState {
  return { ...state, audit: withInitiator(state.audit, who) };
}
