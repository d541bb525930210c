/**
 * Staged change sets (a safety stop's held deprovisions): listed, each opened to its operations and
 * the reasons the check gave; approve (apply what still holds after a fresh read) or reject (never
 * plan them again while each person's record stays as it is), for an operator.
 */
import { operationsOf } from '../../model/plan.js';
import { describeTaker, type StagedSet, type TakenSet } from '../../state/staged-store.js';
import type { Session } from './auth.js';
import { html, type Html } from './html.js';
import { csrfField, when } from './layout.js';
import { operationText } from './person-page.js';

function deprovisions(set: StagedSet): number {
  return set.plan.targets.reduce((n, t) => n + operationsOf(t).length, 0);
}

const targetsOf = (s: StagedSet) => s.plan.targets.map((t) => html`<div>${t.target}: ${operationsOf(t).length} of ${t.managedUsers} managed</div>`);

/** `taken`: sets an approve or reject has taken and is carrying out now, shown apart (not to decide: they are being decided). */
export function stagedListPage(sets: readonly StagedSet[], taken: readonly TakenSet[] = []): Html {
  const beingDecided =
    taken.length === 0
      ? null
      : html`<h2>Being decided now</h2><p class="muted">An approve or reject has taken these; should its process end before it is done, they come back to the list above.</p><table><thead><tr><th>Set</th><th>Staged</th><th>Targets</th><th>Taken by</th></tr></thead><tbody>${taken.map(
          (t) => html`<tr><td><code>${t.set.id}</code></td><td>${when(t.set.createdAt)}</td><td>${targetsOf(t.set)}</td><td>${describeTaker(t)}</td></tr>`,
        )}</tbody></table>`;
  if (sets.length === 0) return html`<p class="muted">No staged change sets: no safety stop is waiting for a decision.</p>${beingDecided}`;
  return html`<table><thead><tr><th>Set</th><th>Staged</th><th>Targets</th><th>Why the check stopped</th></tr></thead><tbody>${sets.map(
    (s) => html`<tr><td><a href="/ui/staged/${s.id}"><code>${s.id}</code></a></td><td>${when(s.createdAt)}</td><td>${targetsOf(s)}</td><td>${s.reasons.map((r) => html`<div>${r}</div>`)}</td></tr>`,
  )}</tbody></table>${beingDecided}`;
}

export function stagedSetPage(set: StagedSet, session: Session, redacted: readonly string[]): Html {
  const operator = session.user.role === 'operator';
  const id = html`<input type="hidden" name="id" value="${set.id}">`;
  return html`
<section class="card"><dl>
  <dt>Staged</dt><dd>${when(set.createdAt)} from cycle <code>${set.plan.id}</code></dd>
  <dt>Why</dt><dd>${set.reasons.map((r) => html`<div>${r}</div>`)}</dd>
  <dt>Deprovisions</dt><dd>${deprovisions(set)}</dd>
</dl></section>
${operator ? html`<section class="actions" aria-label="Actions">
<form method="post" action="/ui/staged/approve">${csrfField(session)}${id}<p>Apply what still holds: each operation is checked against a fresh read first.</p><button type="submit" class="danger">Approve</button></form>
<form method="post" action="/ui/staged/reject">${csrfField(session)}${id}<p>Drop it: these deprovisions are not planned again while each person's source record stays as it is.</p><button type="submit" class="secondary">Reject</button></form>
</section>` : null}
${set.plan.targets.map((t) => html`<section class="card"><h2>${t.target}</h2><ul>${operationsOf(t).map((op) => html`<li>${operationText(op, redacted)} <span class="muted">(${op.externalId})</span></li>`)}</ul></section>`)}`;
}
