/**
 * The provisioning log, searched as `scim-sync log` searches it (audit/log-query.ts) by person,
 * target, action, status and time; newest first. Each record opens (a <details>, no script) to its
 * steps, its modified properties (old → new) and the server's error detail. What the search asked
 * for is shown back as typed (echoed: never through the redactor, see html.ts).
 */
import type { AuditRecord } from '../../audit/audit-sink.js';
import { OUTCOMES, matchesQuery, type LogQuery } from '../../audit/log-query.js';
import { searchLog } from '../../audit/search-log.js';
import type { ConsoleContext } from './context.js';
import { echoed, html, query, type Html } from './html.js';

/** Records shown at most; the rest are counted. Narrow the search to see older ones. */
export const LOG_LIMIT = 200;

export interface LogSearch {
  person: string;
  target: string;
  action: string;
  status: string;
  since: string;
  until: string;
}

export function logSearch(params: URLSearchParams): LogSearch {
  const get = (k: string) => (params.get(k) ?? '').trim().slice(0, 200);
  return { person: get('person'), target: get('target'), action: get('action'), status: get('status'), since: get('since'), until: get('until') };
}

/** A time typed in the form: ISO, or the datetime-local form's "2025-01-31T14:05", read as UTC. */
function timeOf(text: string): Date | undefined {
  if (!text) return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}${text.length <= 10 ? 'T00:00' : ''}Z`);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function toQuery(s: LogSearch): { query: LogQuery; problems: Html[] } {
  const problems: Html[] = [];
  const since = timeOf(s.since);
  const until = timeOf(s.until);
  if (s.since && !since) problems.push(html`"${echoed(s.since)}" is not a time`);
  if (s.until && !until) problems.push(html`"${echoed(s.until)}" is not a time`);
  return {
    query: {
      ...(s.person ? { user: s.person } : {}),
      ...(s.target ? { targets: [s.target] } : {}),
      ...(s.action ? { actions: [s.action] } : {}),
      ...(s.status ? { statuses: [s.status] } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    },
    problems,
  };
}

const value = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null'));

function outcomeClass(o: AuditRecord['outcome']): string {
  return o === 'failed' ? 'bad' : o === 'partial' || o === 'held' ? 'warn' : o === 'ok' ? 'ok' : 'muted';
}

function recordDetail(r: AuditRecord): Html {
  return html`<div>
${r.steps?.length ? html`<h3>Steps</h3><ol class="steps">${r.steps.map((s) => html`<li><strong>${s.step}</strong>: ${s.detail}${s.outcome ? html` <span class="${outcomeClass(s.outcome)}">(${s.outcome})</span>` : null}</li>`)}</ol>` : null}
${r.modifiedProperties?.length ? html`<h3>Modified properties</h3><table><thead><tr><th>Attribute</th><th>Old</th><th>New</th></tr></thead><tbody>${r.modifiedProperties.map((c) => html`<tr><td><code>${c.path}</code></td><td><code>${value(c.from)}</code></td><td><code>${value(c.to)}</code></td></tr>`)}</tbody></table>` : null}
${r.error ? html`<h3>Error</h3><p class="bad">${r.status !== undefined ? `HTTP ${r.status} ` : ''}${r.error.code}: ${r.error.message}</p>${r.error.detail ? html`<pre>${r.error.detail}</pre>` : null}` : null}
${r.note ? html`<p>${r.note}</p>` : null}
<dl>
  <dt>Cycle</dt><dd><a href="/ui/log${query({ cycle: r.cycleId ?? r.planId })}"><code>${r.cycleId ?? r.planId}</code></a></dd>
  ${r.changeId ? html`<dt>Change</dt><dd><code>${r.changeId}</code></dd>` : null}
  ${r.initiator ? html`<dt>Started by</dt><dd>${r.initiator}${r.by ? ` (${r.by})` : ''}</dd>` : null}
  ${r.scimId ? html`<dt>SCIM id</dt><dd><code>${r.scimId}</code></dd>` : null}
  ${r.attempts !== undefined ? html`<dt>Attempts</dt><dd>${r.attempts}</dd>` : null}
  ${r.durationMs !== undefined ? html`<dt>Took</dt><dd>${r.durationMs} ms</dd>` : null}
</dl>
</div>`;
}

function recordRow(r: AuditRecord): Html {
  const person = r.label && r.externalId ? `${r.label} (${r.externalId})` : (r.label ?? r.externalId ?? '');
  return html`<details class="record">
<summary><span>${r.time.replace('T', ' ').slice(0, 19)}</span><span>${r.target}</span><span>${r.action}</span><span class="${outcomeClass(r.outcome)}">${r.outcome}</span><span>${person}${r.error ? html` <span class="bad">${r.error.message}</span>` : null}</span></summary>
${recordDetail(r)}
</details>`;
}

function matchSummary(matched: number, exhaustive: boolean, shown: number): string {
  const records = `record${matched === 1 ? '' : 's'} match${matched === 1 ? 'es' : ''}`;
  if (!exhaustive) return `At least ${matched} ${records}; the newest ${shown} are shown.`;
  return `${matched} ${records}${matched > shown ? `; the newest ${shown} are shown` : ''}.`;
}

export async function logPage(ctx: ConsoleContext, params: URLSearchParams): Promise<Html> {
  const search = logSearch(params);
  const cycle = (params.get('cycle') ?? '').trim().slice(0, 200);
  const { query: q, problems } = toQuery(search);
  const wanted = cycle ? { ...q, cycle } : q;
  const found = await searchLog(ctx.loaded.auditFile, (r) => matchesQuery(r, wanted), { limit: LOG_LIMIT, ...(q.since ? { since: q.since } : {}) });
  const { records: shown, matched, unreadable } = found;
  const targets = Object.keys(ctx.loaded.config.targets);
  const option = (v: string, selected: string, label = v) => (v === selected ? html`<option value="${v}" selected>${label}</option>` : html`<option value="${v}">${label}</option>`);
  return html`
<form class="filters" method="get" action="/ui/log">
  <label>Person<input type="search" name="person" value="${echoed(search.person)}" placeholder="key, userName or email"></label>
  <label>Target<select name="target">${option('', search.target, 'any')}${targets.map((t) => option(t, search.target))}</select></label>
  <label>Action<input type="text" name="action" value="${echoed(search.action)}" placeholder="e.g. createUser" list="actions"></label>
  <label>Status<select name="status">${option('', search.status, 'any')}${['success', 'failure', 'warning', ...OUTCOMES].map((o) => option(o, search.status))}</select></label>
  <label>Since (UTC)<input type="datetime-local" name="since" value="${echoed(search.since)}"></label>
  <label>Until (UTC)<input type="datetime-local" name="until" value="${echoed(search.until)}"></label>
  ${cycle ? html`<input type="hidden" name="cycle" value="${echoed(cycle)}">` : null}
  <button type="submit">Search</button>
</form>
<datalist id="actions">${['createUser', 'updateUser', 'deprovisionUser', 'linkUser', 'createGroup', 'patchGroupMembers', 'person.provision', 'person.deprovision', 'person.release', 'staged.approve', 'staged.reject', 'staged.recovered', 'quarantine.enter', 'quarantine.exit', 'safety.stop'].map((a) => html`<option value="${a}">`)}</datalist>
${cycle ? html`<p>Cycle <code>${echoed(cycle)}</code> only. <a href="/ui/log${echoed(query({ ...search }))}">All cycles</a></p>` : null}
${problems.map((p) => html`<div class="notice bad">${p}</div>`)}
${unreadable > 0 ? html`<div class="notice bad">${unreadable} line${unreadable === 1 ? '' : 's'} of the log could not be read.</div>` : null}
${found.searchedBackTo ? html`<div class="notice warn">The search read the newest part of the log only, back to ${found.searchedBackTo.replace('T', ' ').slice(0, 19)} UTC: set Since and Until to look further back.</div>` : null}
<p class="muted">${matchSummary(matched, found.exhaustive, shown.length)} Open one for its steps, changes and errors.</p>
<div class="records">${shown.map(recordRow)}</div>`;
}
