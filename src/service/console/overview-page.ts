/**
 * The overview: is provisioning healthy? Each target's last cycle (when, how long, counts by
 * outcome), its quarantine and rate limit; the source as the last full read found it; the next
 * cycle; the last hour's events and leaver propagation; the feeds; what waits for a decision.
 */
import { selectTargets } from '../../config/select-targets.js';
import { describeError } from '../../errors.js';
import { targetRateLimit } from '../../execution/target-runtime.js';
import type { Outcome, TargetReport } from '../../execution/run-report.js';
import type { QueueStatus } from '../../execution/bullmq/queue-status.js';
import type { QuarantineEntry } from '../../state/quarantine-store.js';
import { operationsOf } from '../../model/plan.js';
import { nextCronTime } from '../cron-timer.js';
import type { Session } from './auth.js';
import type { ConsoleContext } from './context.js';
import { html, query, type Html } from './html.js';
import { csrfField, duration, when } from './layout.js';
import type { Activity } from './recent-activity.js';

const OUTCOMES: readonly Outcome[] = ['ok', 'partial', 'failed', 'skipped', 'unchanged'];

function countsOf(report: TargetReport | undefined): Record<Outcome, number> | undefined {
  if (!report) return undefined;
  const t = { ok: 0, partial: 0, failed: 0, skipped: 0, unchanged: 0 };
  for (const c of Object.values(report.counts)) for (const o of OUTCOMES) t[o] += c[o] ?? 0;
  return t;
}

function health(report: TargetReport | undefined, entry: QuarantineEntry | undefined): Html {
  if (entry) return html`<span class="bad">quarantined</span>`;
  if (!report) return html`<span class="muted">no cycle yet</span>`;
  if (report.unreadable) return html`<span class="bad">could not be read</span>`;
  if (report.stopped) return html`<span class="bad">stopped</span>`;
  if (report.failures.length > 0) return html`<span class="warn">${report.failures.length} failed</span>`;
  if (report.held) return html`<span class="warn">held</span>`;
  return html`<span class="ok">healthy</span>`;
}

function rateLimit(ctx: ConsoleContext, target: string, queues: QueueStatus | undefined): Html {
  const limit = targetRateLimit(ctx.loaded.config.targets[target]!);
  const paused = queues?.targets.find((t) => t.target === target)?.rateLimitedForMs ?? 0;
  return html`${limit ? `${limit.requests} per ${duration(limit.perMs)}` : html`<span class="muted">none</span>`}${paused > 0 ? html` <span class="warn">paused ${duration(paused)}</span>` : null}`;
}

function seconds(s: number | undefined): string {
  return s === undefined ? '–' : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(s < 10 ? 1 : 0)} s`;
}

export async function overviewPage(ctx: ConsoleContext, session: Session, activity: Activity, queues: QueueStatus | undefined): Promise<Html> {
  const operator = session.user.role === 'operator';
  const last = ctx.reconcile.last;
  const result = last?.result;
  const plan = result && 'plan' in result ? result.plan : undefined;
  const report = result?.kind === 'applied' ? result.report : undefined;
  const quarantined = await ctx.state.quarantine.all();
  const [staged, holds] = await Promise.all([ctx.state.staged.list(), ctx.state.holds.all()]);
  const readiness = ctx.readiness();
  const schedule = ctx.loaded.config.schedule;

  const cycle = last
    ? html`<dl>
  <dt>Last full cycle</dt><dd>${when(last.startedAt.toISOString())}, took ${duration(last.finishedAt.getTime() - last.startedAt.getTime())} (${last.reason})</dd>
  <dt>Result</dt><dd>${last.error !== undefined ? html`<span class="bad">failed: ${describeError(last.error)}</span>` : result?.kind === 'stopped' ? html`<span class="bad">stopped by the safety check: ${result.error.reasons.join('; ')}</span>` : (result?.kind ?? 'nothing planned')}</dd>
  <dt>Next cycle</dt><dd>${schedule ? html`${when(nextCronTime(schedule, new Date()).toISOString())} <span class="muted">(cron "${schedule.cron}")</span>` : html`<span class="muted">no schedule.cron: at start and on request only</span>`}</dd>
</dl>`
    : html`<p class="muted">No full cycle has finished yet.</p>`;

  /** Why a target has no counts from the last cycle. */
  const notApplied = (name: string): string => {
    const planned = plan?.targets.find((t) => t.target === name);
    if (result?.kind === 'stopped') return `nothing applied; ${planned ? operationsOf(planned).length : 0} operations were planned`;
    if (queues?.targets.find((t) => t.target === name)?.lastCycle) return `last cycle on the workers: ${queues.targets.find((t) => t.target === name)!.lastCycle!.planId} (see Queues)`;
    if (result?.kind === 'enqueued') return 'on the workers (see Queues)';
    return 'no report yet';
  };
  const targetRows = selectTargets(ctx.loaded).map(([name]) => {
    const tr = report?.targets.find((t) => t.target === name);
    const counts = countsOf(tr);
    const entry = quarantined.get(name);
    const trouble = tr?.unreadable ?? tr?.stopped ?? tr?.held ?? plan?.targets.find((t) => t.target === name)?.error;
    return html`<tr>
  <td><strong>${name}</strong></td>
  <td>${result?.kind === 'stopped' && !entry ? html`<span class="warn">stopped by the safety check</span>` : health(tr, entry)}${trouble ? html`<div class="muted">${trouble}</div>` : null}</td>
  ${counts ? OUTCOMES.map((o) => html`<td class="num">${counts[o]}</td>`) : html`<td colspan="5" class="muted">${notApplied(name)}</td>`}
  <td>${entry ? html`<span class="bad">since ${when(entry.since)}</span><div>${entry.reason}</div><div class="muted">next try ${when(entry.nextTry)}</div>${
    operator ? html`<form class="inline" method="post" action="/ui/quarantine/lift">${csrfField(session)}<input type="hidden" name="target" value="${name}"><button type="submit" class="secondary">Clear quarantine</button></form>` : null
  }` : html`<span class="muted">no</span>`}</td>
  <td>${rateLimit(ctx, name, queues)}</td>
</tr>`;
  });

  const source = plan
    ? html`<dl>
  <dt>Source</dt><dd>${plan.source.description}</dd>
  <dt>Last full read</dt><dd>${when(plan.binding.source.readAt)}</dd>
  <dt>People</dt><dd>${plan.source.users} (${plan.source.activeUsers} active) from ${plan.source.recordsRead} records</dd>
  <dt>Invalid records</dt><dd>${plan.source.invalidRecords > 0 ? html`<span class="warn">${plan.source.invalidRecords}</span>` : '0'}${plan.source.issues.length > 0 ? html`<ul>${plan.source.issues.slice(0, 10).map((i) => html`<li>${i}</li>`)}</ul>${plan.source.issues.length > 10 ? html`<p class="muted">and ${plan.source.issues.length - 10} more</p>` : null}` : null}</dd>
</dl>`
    : html`<p class="muted">The source has not been read by a full cycle yet.</p>`;

  const window = Date.now() - activity.since >= 3_599_000 ? 'in the last hour' : `since the service started (${duration(Date.now() - activity.since)} ago)`;
  const feeds = ctx.feeds.length
    ? html`<table><thead><tr><th>Feed</th><th>Watches</th><th>Last poll</th><th>Last change</th><th>Problem</th></tr></thead><tbody>${ctx.feeds.map(
        (f) => html`<tr><td>${f.name}</td><td>${f.description}</td><td>${when(f.lastPoll)}</td><td>${when(f.lastChange)}</td><td>${f.error ? html`<span class="bad">${f.error}</span>` : ''}${(f.warnings ?? []).map((w) => html`<span class="warn">${w}</span>`)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No change feed: people change at the full cycles${ctx.loaded.config.events ? ' and by inbound events' : ''}.</p>`;

  return html`
${readiness.ready ? null : html`<div class="notice bad" role="status"><strong>Not ready:</strong><ul>${readiness.problems.map((p) => html`<li>${p}</li>`)}</ul></div>`}
<section class="card"><h2>Cycles</h2>${cycle}</section>
<section class="card"><h2>Targets</h2>
<table><thead><tr><th>Target</th><th>Health</th>${OUTCOMES.map((o) => html`<th class="num">${o}</th>`)}<th>Quarantine</th><th>Rate limit</th></tr></thead>
<tbody>${targetRows}</tbody></table>
</section>
<section class="card"><h2>Source</h2>${source}</section>
<section class="card"><h2>Activity ${window}</h2>
<dl>
  <dt>Inbound events</dt><dd>${activity.events}</dd>
  <dt>People synced on change</dt><dd>${activity.people}</dd>
  <dt>Propagation p50 / p99</dt><dd>${activity.propagation.count > 0 ? html`${seconds(activity.propagation.p50)} / ${seconds(activity.propagation.p99)} <span class="muted">(${activity.propagation.count} changes, from change noticed to applied; estimated from the histogram's buckets)</span>` : html`<span class="muted">no change-driven sync</span>`}</dd>
</dl>
</section>
<section class="card"><h2>Change feeds</h2>${feeds}</section>
<section class="card"><h2>Waiting for a decision</h2>
<dl>
  <dt>Staged change sets</dt><dd>${staged.length > 0 ? html`<a href="/ui/staged" class="warn">${staged.length} staged</a>` : '0'}</dd>
  <dt>Emergency holds</dt><dd>${holds.size > 0 ? html`<ul>${[...holds].map(([key, h]) => html`<li><a href="/ui/person${query({ key })}">${key}</a>: ${h.reason} <span class="muted">(by ${h.by}, ${when(h.time)})</span></li>`)}</ul>` : '0'}</dd>
</dl>
</section>`;
}
