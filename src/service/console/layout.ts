/** The frame of every console page: navigation, who is signed in, sign-out; and small shared pieces. */
import type { Session } from './auth.js';
import { html, type Html } from './html.js';

export type Section = 'overview' | 'log' | 'person' | 'staged' | 'queues';

export interface PageFrame {
  /** Html when it holds the request's own text (echoed). */
  title: Html | string;
  section?: Section;
  session?: Session;
  /** Whether the queues page exists (distributed mode). */
  queues?: boolean;
  body: Html;
}

function link(href: string, label: string, current: boolean): Html {
  return current ? html`<a href="${href}" aria-current="page">${label}</a>` : html`<a href="${href}">${label}</a>`;
}

export function page(frame: PageFrame): Html {
  const s = frame.session;
  const header = s
    ? html`<header>
  <a class="brand" href="/ui">scim-sync</a>
  <nav>
    ${link('/ui', 'Overview', frame.section === 'overview')}
    ${link('/ui/log', 'Provisioning log', frame.section === 'log')}
    ${link('/ui/staged', 'Staged changes', frame.section === 'staged')}
    ${frame.queues ? link('/ui/queues', 'Queues', frame.section === 'queues') : null}
  </nav>
  <form method="get" action="/ui/person" role="search"><input type="search" name="key" placeholder="Person (source key)" aria-label="Person by source key"></form>
  <span class="who">${s.user.name} (${s.user.role})</span>
  <form method="post" action="/ui/logout">${csrfField(s)}<button type="submit">Sign out</button></form>
</header>`
    : html`<header><span class="brand">scim-sync</span></header>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${frame.title} &middot; scim-sync</title>
<link rel="stylesheet" href="/ui/static/console.css">
</head>
<body>
${header}
<main>
<h1>${frame.title}</h1>
${frame.body}
</main>
</body>
</html>
`;
}

export function csrfField(session: Session): Html {
  return html`<input type="hidden" name="csrf" value="${session.csrf}">`;
}

/** An ISO time as "2025-01-31 14:05:09 UTC", with how long ago. */
export function when(iso: string | undefined, now = Date.now()): Html {
  if (!iso) return html`<span class="muted">never</span>`;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return html`${iso}`;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)} UTC</time> <span class="muted">(${ago(now - t)})</span>`;
}

function ago(ms: number): string {
  const future = ms < 0;
  const s = Math.round(Math.abs(ms) / 1000);
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86_400 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86_400).toFixed(1)} days`;
  return future ? `in ${text}` : `${text} ago`;
}

export function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

export function notice(kind: 'ok' | 'bad', text: Html | string): Html {
  return html`<div class="notice ${kind}" role="status">${text}</div>`;
}
