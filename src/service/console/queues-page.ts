/**
 * Distributed mode's queues, as `scim-sync status` reads them: per target its depth by state, the
 * cycle lock, the rate limit's pause, the operations in flight and the failed ones (dead letters)
 * with their reasons; an operator retries a target's failed operations as a cycle of their own.
 */
import type { QueueStatus } from '../../execution/bullmq/queue-status.js';
import type { Session } from './auth.js';
import { html, type Html } from './html.js';
import { csrfField, duration, when } from './layout.js';

const DEPTH = ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children', 'paused', 'failed'] as const;

export function queuesPage(status: QueueStatus, session: Session): Html {
  const operator = session.user.role === 'operator';
  return html`
<section class="card"><dl>
  <dt>Workers</dt><dd>${status.workers > 0 ? status.workers : html`<span class="bad">none connected</span>`}</dd>
  <dt>Prefix</dt><dd><code>${status.prefix}</code></dd>
  ${status.controlFailed.length > 0 ? html`<dt>Control jobs failed</dt><dd class="bad">${status.controlFailed.map((c) => html`<div>${c.target}: ${c.reason}</div>`)}</dd>` : null}
</dl></section>
<section class="card"><h2>Depth per target</h2>
<table><thead><tr><th>Target</th>${DEPTH.map((d) => html`<th class="num">${d}</th>`)}<th>Cycle lock</th><th>Rate limit</th><th>Last cycle</th></tr></thead><tbody>${status.targets.map(
    (t) => html`<tr><td><strong>${t.target}</strong></td>${DEPTH.map((d) => html`<td class="num${d === 'failed' && (t.counts[d] ?? 0) > 0 ? ' bad' : ''}">${t.counts[d] ?? 0}</td>`)}
<td>${t.lock ? html`held by <code>${t.lock.holder}</code>` : html`<span class="muted">free</span>`}</td>
<td>${t.rateLimit ? `${t.rateLimit.requests} per ${duration(t.rateLimit.perMs)}` : 'none'}${t.rateLimitedForMs > 0 ? html` <span class="warn">paused ${duration(t.rateLimitedForMs)}</span>` : null}</td>
<td>${t.lastCycle ? html`<code>${t.lastCycle.planId}</code>` : html`<span class="muted">none</span>`}</td></tr>`,
  )}</tbody></table></section>
${status.targets.map((t) =>
  t.failed.length === 0 && t.inFlight.length === 0
    ? null
    : html`<section class="card"><h2>${t.target}</h2>
${t.inFlight.length > 0 ? html`<h3>In flight</h3><table><tbody>${t.inFlight.map((j) => html`<tr><td>${j.kind}</td><td>${j.label} (${j.externalId})</td><td>${j.worker ?? ''}</td><td>${when(j.at)}</td></tr>`)}</tbody></table>` : null}
${t.failed.length > 0 ? html`<h3>Failed</h3><table><thead><tr><th>Operation</th><th>Person or group</th><th>Attempts</th><th>When</th><th>Why</th></tr></thead><tbody>${t.failed.map((j) => html`<tr><td>${j.kind}</td><td>${j.label} (${j.externalId})</td><td class="num">${j.attempts}</td><td>${when(j.at)}</td><td class="bad">${j.reason ?? ''}</td></tr>`)}</tbody></table>
${operator ? html`<form method="post" action="/ui/queues/retry">${csrfField(session)}<input type="hidden" name="target" value="${t.target}"><button type="submit">Retry the failed operations of ${t.target}</button></form>` : null}` : null}
</section>`,
)}`;
}
