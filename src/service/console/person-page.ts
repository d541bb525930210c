/**
 * A person: their source record, their emergency hold, what each target holds for them and what the
 * next cycle would do (`explain`: engine/one-person.ts planPerson, which writes nothing); for an
 * operator, provision now, emergency deprovision (a reason required) and release. Values of the
 * attributes `audit.redactAttributes` lists are masked here as in the log.
 */
import type { PersonPlan } from '../../engine/one-person.js';
import { REDACTED, redactChanges } from '../../audit/redact-attributes.js';
import { operationsOf, type Operation } from '../../model/plan.js';
import type { JsonObject, JsonValue } from '../../model/scim.js';
import type { RunReport } from '../../execution/run-report.js';
import type { Session } from './auth.js';
import { echoed, html, query, quotedText, type Html } from './html.js';
import type { Quoted } from '../../errors.js';
import { csrfField, when } from './layout.js';

/** `resource` with the listed attributes (top level, or inside an extension) shown as "[redacted]". */
export function maskAttributes(resource: JsonObject, attributes: readonly string[]): JsonObject {
  const listed = new Set(attributes.map((a) => a.replace(/^urn:.*:/i, '').split('.')[0]!.toLowerCase()));
  const mask = (o: JsonObject): JsonObject =>
    Object.fromEntries(
      Object.entries(o).map(([k, v]): [string, JsonValue] => {
        if (listed.has(k.toLowerCase())) return [k, REDACTED];
        if (k.startsWith('urn:') && v && typeof v === 'object' && !Array.isArray(v)) return [k, mask(v)];
        return [k, v];
      }),
    );
  return mask(resource);
}

const json = (v: unknown) => JSON.stringify(v, null, 2) ?? 'null';
const value = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null'));

/** One planned operation, as a person reads it; the values of listed attributes masked as in the log. */
export function operationText(op: Operation, redacted: readonly string[]): Html {
  switch (op.kind) {
    case 'updateUser':
    case 'updateGroup':
      return html`<strong>${op.kind}</strong> ${op.label}${op.changes.length ? html`<table><tbody>${redactChanges(op.changes, redacted).map((c) => html`<tr><td><code>${c.path}</code></td><td><code>${value(c.from)}</code> &rarr; <code>${value(c.to)}</code></td></tr>`)}</tbody></table>` : null}`;
    case 'deprovisionUser':
      return html`<strong>${op.kind}</strong> ${op.label} <span class="muted">(${op.mode}; ${op.reason})</span>`;
    case 'patchGroupMembers':
      return html`<strong>${op.kind}</strong> ${op.label} <span class="muted">(${op.add.length ? `add ${op.add.join(', ')}` : ''}${op.add.length && op.remove.length ? '; ' : ''}${op.remove.length ? `remove ${op.remove.length}` : ''})</span>`;
    case 'setManager':
      return html`<strong>${op.kind}</strong> ${op.label} <span class="muted">(manager: ${op.managerLabel ?? 'none'})</span>`;
    default:
      return html`<strong>${op.kind}</strong> ${op.label}`;
  }
}

const MATCHED: Record<string, string> = { link: 'linked in the link store', externalId: 'found by externalId', userName: 'found by userName', email: 'found by email', none: 'no account' };

function targetSection(p: PersonPlan, t: PersonPlan['targets'][number], redacted: readonly string[], hidden: ReadonlySet<string>): Html {
  const tp = p.plan.targets.find((x) => x.target === t.target);
  const ops = tp ? operationsOf(tp) : [];
  if (t.error) return html`<section class="card"><h2>${t.target}</h2><p class="bad">Could not be read: ${t.error}</p></section>`;
  const account = t.account;
  const adoption = (t.matchedBy === 'userName' || t.matchedBy === 'email') && t.adopt !== t.matchedBy ? ` (not managed by scim-sync: left alone, adopt is ${t.adopt ?? 'none'})` : '';
  return html`<section class="card"><h2>${t.target}</h2>
<dl>
  <dt>Scope</dt><dd>${t.scope ? (t.scope.filters.length === 0 ? 'in scope (no filters)' : t.scope.inScope ? html`<span class="ok">in scope</span>` : t.scope.unknown !== undefined ? html`<span class="warn">unknown (a value could not be read): held</span>` : html`<span class="warn">out of scope</span>`) : html`<span class="muted">not in the source</span>`}</dd>
  <dt>Account</dt><dd>${account ? html`<code>${account.id}</code> ${typeof account['userName'] === 'string' ? account['userName'] : ''} &middot; ${account['active'] === false ? html`<span class="warn">inactive</span>` : html`<span class="ok">active</span>`} <span class="muted">(${MATCHED[t.matchedBy]}${adoption})</span>` : html`<span class="muted">none</span>`}</dd>
  <dt>Next cycle</dt><dd>${ops.length === 0 ? 'nothing to do' : html`<ul>${ops.map((op) => html`<li>${operationText(op, redacted)}</li>`)}</ul>`}${tp?.held?.operations.length ? html`<p class="warn">Held, not applied: ${tp.held.reason}</p><ul>${tp.held.operations.map((op) => html`<li>${operationText(op, redacted)}</li>`)}</ul>` : null}${(tp?.warnings ?? []).map((w) => html`<p class="warn">${w}</p>`)}</dd>
</dl>
${t.scope && t.scope.filters.length > 0 ? html`<details><summary>Scope filters</summary><ul>${t.scope.filters.map((f, i) => html`<li>filter ${i + 1}: ${f.passed ? 'matches' : 'does not match'}<ul>${f.clauses.map((c) => html`<li class="${c.passed ? 'ok' : 'bad'}">${c.passed ? 'pass' : 'fail'}: ${c.attribute} ${c.test} (value ${hidden.has(c.attribute.toLowerCase()) ? REDACTED : JSON.stringify(c.values)})</li>`)}</ul></li>`)}</ul></details>` : null}
${account ? html`<details><summary>What ${t.target} holds</summary><pre>${json(maskAttributes(account, redacted))}</pre></details>` : null}
${t.mapped ? html`<details><summary>What the mapping makes of them</summary><pre>${json(maskAttributes(t.mapped, redacted))}</pre></details>` : null}
</section>`;
}

function actions(p: PersonPlan, session: Session): Html {
  if (session.user.role !== 'operator') return html``;
  const key = html`<input type="hidden" name="key" value="${echoed(p.key)}">`;
  return html`<section class="actions" aria-label="Actions">
${p.user ? html`<form method="post" action="/ui/person/provision">${csrfField(session)}${key}<p>Plan and apply this person now in every target.</p><button type="submit">Provision now</button></form>` : null}
<form method="post" action="/ui/person/deprovision">${csrfField(session)}${key}
<label for="reason"><strong>Emergency deprovision</strong>: deactivate now everywhere, and keep them off until the source record changes or they are released. Why?</label>
<textarea id="reason" name="reason" required maxlength="500" placeholder="e.g. ticket SEC-123: account compromised"></textarea>
<button type="submit" class="danger">Deprovision now</button></form>
${p.hold ? html`<form method="post" action="/ui/person/release">${csrfField(session)}${key}<p>Lift the emergency hold: the next cycle plans them from the source again.</p><button type="submit" class="secondary">Release</button></form>` : null}
</section>`;
}

/**
 * What the page may show of the source record. `read`: the attributes provisioning reads (mapping,
 * roles, scope); the rest of an HR export's columns (salary, date of birth) is no helpdesk's to see:
 * a viewer is told only how many there are, an operator (who writes the mapping) can open them.
 */
export interface SourceView {
  redacted: readonly string[];
  /** Source attributes that feed a redacted one (sourceAttributesFeeding). */
  feeding: ReadonlySet<string>;
  read: ReadonlySet<string>;
}

function sourceRecord(user: NonNullable<PersonPlan['user']>, session: Session, view: SourceView): Html {
  const entries = Object.entries(maskAttributes(user.attributes as JsonObject, [...view.redacted, ...view.feeding]));
  const row = ([k, v]: [string, JsonValue]) => html`<tr><th>${k}</th><td>${value(v)}</td></tr>`;
  const shown = entries.filter(([k]) => view.read.has(k));
  const others = entries.filter(([k]) => !view.read.has(k));
  const rest =
    others.length === 0
      ? null
      : session.user.role === 'operator'
        ? html`<details><summary>${others.length} more source attribute${others.length === 1 ? '' : 's'} no mapping or scope reads</summary><table><tbody>${others.map(row)}</tbody></table></details>`
        : html`<p class="muted">${others.length} more source attribute${others.length === 1 ? '' : 's'} no mapping or scope reads: not shown.</p>`;
  return html`<table><tbody>${shown.map(row)}</tbody></table>${rest}`;
}

/** The page of the person the request named: `p.key` is that request's own text (shown as sent, html.ts). */
export function personPage(p: PersonPlan, session: Session, view: SourceView): Html {
  const where = p.user ? `${p.user.ref.location}${p.user.ref.line ? `:${p.user.ref.line}` : ''}` : '';
  // Source attributes shown nowhere on this page: by the names maskAttributes compares (lowercased, no path).
  const hidden = new Set([...view.redacted, ...view.feeding].map((a) => a.replace(/^urn:.*:/i, '').split('.')[0]!.toLowerCase()));
  return html`
<section class="card"><h2>Source</h2>
${p.sourceHeld ? html`<p class="warn">Held: the source rejected this person's record (an invalid or duplicate row); no target is changed for them until it reads clean.</p>` : null}
${p.user ? html`<p>${p.user.active ? html`<span class="ok">active</span>` : html`<span class="warn">inactive</span>`} in the source <span class="muted">(${where})</span></p>
${sourceRecord(p.user, session, view)}` : p.sourceHeld ? null : html`<p class="warn">Not in the source.</p>`}
${p.hold ? html`<p class="bad">Held off by an emergency deprovision: "${p.hold.reason}", by ${p.hold.by}, ${when(p.hold.time)}. Planned as out of scope until the source record changes or they are released.</p>` : null}
<p><a href="/ui/log${echoed(query({ person: p.key }))}">Their provisioning log</a></p>
</section>
${actions(p, session)}
${p.targets.map((t) => targetSection(p, t, view.redacted, hidden))}`;
}

/** The outcome of an action on a person (`key`: as the request named them): its steps as they ran, and each target's result. */
export function actionResult(title: Html, key: string, steps: readonly (string | Quoted)[], report: RunReport | undefined, problem?: Html | string): Html {
  return html`
${problem ? html`<div class="notice bad" role="status">${problem}</div>` : null}
<section class="card"><h2>Steps</h2><ol>${steps.map((s) => html`<li>${typeof s === 'string' ? s : quotedText(s)}</li>`)}</ol></section>
${report ? html`<section class="card"><h2>Result</h2><table><thead><tr><th>Target</th><th>Result</th></tr></thead><tbody>${report.targets.map((t) => {
    const trouble = t.unreadable ?? t.stopped ?? (t.failures.length > 0 ? t.failures.map((f) => `${f.label}: ${f.message}${f.detail ? ` (${f.detail})` : ''}`).join('; ') : undefined);
    return html`<tr><td>${t.target}</td><td>${trouble ? html`<span class="bad">${trouble}</span>` : html`<span class="ok">done</span>`}</td></tr>`;
  })}</tbody></table></section>` : null}
<p><a href="/ui/person${echoed(query({ key }))}">Back to ${echoed(key)}</a> &middot; <a href="/ui/log${echoed(query({ person: key }))}">${title}: their log</a></p>`;
}
