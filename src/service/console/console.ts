/**
 * The web console under /ui (config `serve.console`): pages rendered on the server, usable without
 * script, and the operator's actions as forms. Every request is checked in this order: the Host it
 * names (no DNS rebinding), the session (else the sign-in page), and for a POST the origin, the
 * form's CSRF token and the user's role. Nothing from the config but target names is shown; every
 * value goes through the escaping template and the redactor (html.ts), but the request's own text,
 * shown back as sent: through the redactor it would answer whether it is a secret.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { openOnFirstUse, type OpenedOnFirstUse } from './lazy-connection.js';
import { BusyError, ReadGate } from './read-gate.js';
import type { QueueStatus } from '../../execution/bullmq/queue-status.js';
import { ConfigError, describeError, NotFoundError, PlanError, SafetyError } from '../../errors.js';
import { Refusal, errorReference, shownRefusal } from './error-text.js';
import { planPerson } from '../../engine/one-person.js';
import { recoverStaged } from '../../engine/staged-sets.js';
import { withInitiator } from '../../audit/audit-sink.js';
import { isLoopback } from '../../config/schema/serve.js';
import { approveAction, consoleWho, liftAction, personAction, personKey, rejectAction, releaseAction, retryAction, type ActionPage } from './actions.js';
import { ConsoleAuth, randomToken, sameSecret, type Session } from './auth.js';
import type { ConsoleContext } from './context.js';
import { echoed, html, type Html } from './html.js';
import { notice, page, type PageFrame } from './layout.js';
import { logPage } from './log-page.js';
import { overviewPage } from './overview-page.js';
import { personPage } from './person-page.js';
import { sourceAttributesFeeding, sourceAttributesRead } from '../../audit/redacted-sources.js';
import { queuesPage } from './queues-page.js';
import { RecentActivity } from './recent-activity.js';
import { stagedListPage, stagedSetPage } from './staged-page.js';
import { CONSOLE_CSS } from './style.js';
import { addressSet, clientNetwork } from '../../config/address-ranges.js';
import { allowedHosts, clientAddress, cookieName, cookies, readForm, redirect, sameOrigin, sendHtml, sendText, setCookie } from './web.js';
import { RequestLimit } from './request-limit.js';

const SESSION_COOKIE = 'scimsync_session';
const LOGIN_COOKIE = 'scimsync_login';
/** How often the activity window samples the service's counters. */
const SAMPLE_EVERY_MS = 60_000;

export interface ConsoleHandle {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

/** Actions only an operator may take, by path. */
const ACTIONS = new Set(['/ui/person/provision', '/ui/person/deprovision', '/ui/person/release', '/ui/staged/approve', '/ui/staged/reject', '/ui/quarantine/lift', '/ui/queues/retry']);

export async function startConsole(ctx: ConsoleContext): Promise<ConsoleHandle> {
  const settings = ctx.loaded.config.serve.console!;
  const host = /^\[?([^\]]+)\]?:\d+$/.exec(ctx.loaded.config.serve.listen)?.[1] ?? '';
  // `--listen` may have moved the service since the config was checked.
  if (!isLoopback(host) && !settings.publicUrl?.startsWith('https:')) {
    throw new ConfigError(`serve.listen ${ctx.loaded.config.serve.listen} is not a loopback address: the console needs serve.console.publicUrl, an https:// address of a TLS-terminating proxy in front`);
  }
  const auth = new ConsoleAuth(settings);
  const secure = settings.publicUrl?.startsWith('https:') ?? false;
  const sessionMaxAge = settings.sessionMinutes * 60;
  const proxies = settings.trustedProxies.length > 0 ? addressSet(settings.trustedProxies) : undefined;
  const sessionCookie = cookieName(SESSION_COOKIE, secure);
  const loginCookie = cookieName(LOGIN_COOKIE, secure);
  // Per session, and per client network before a sign-in: no script asks thousands of questions.
  const limit = new RequestLimit(settings.requestsPerMinute);
  const activity = new RecentActivity(ctx.metrics.registry);
  await activity.keep();
  const sampler = setInterval(() => void activity.keep().catch(() => undefined), SAMPLE_EVERY_MS);
  sampler.unref();
  const distributed = !!ctx.loaded.config.queue;
  let redis: OpenedOnFirstUse<Redis> | undefined;
  // Per signed-in user: one refreshing viewer (or a script with their token) waits behind their own
  // reads, never locks an operator out during an incident.
  const gates = new Map<string, { person: ReadGate; log: ReadGate }>();
  const gatesOf = (session: Session) => {
    let g = gates.get(session.user.name);
    if (!g) gates.set(session.user.name, (g = { person: new ReadGate('person pages'), log: new ReadGate('log searches') }));
    return g;
  };

  async function queueStatus(): Promise<QueueStatus> {
    const q = ctx.loaded.config.queue!;
    const [{ readQueueStatus }, { connectRedis }, { selectTargets }] = await Promise.all([
      import('../../execution/bullmq/queue-status.js'),
      import('../../state/redis-connection.js'),
      import('../../config/select-targets.js'),
    ]);
    // A page gives up on a Redis that does not answer (queue.commandTimeoutMs) rather than hang.
    redis ??= openOnFirstUse(() => connectRedis(q.redis, { onError: (m) => ctx.log(`console: ${m}`), commandTimeoutMs: q.commandTimeoutMs }));
    return readQueueStatus(await redis.get(), q, selectTargets(ctx.loaded), ctx.loaded.config.schedule);
  }

  const frame = (session: Session | undefined, f: Omit<PageFrame, 'session' | 'queues'>): Html => page({ ...f, ...(session ? { session } : {}), queues: distributed });

  function loginPage(res: ServerResponse, status: number, message?: string): void {
    const nonce = randomToken();
    const body = html`<section class="card login">
${message ? notice('bad', message) : null}
<form method="post" action="/ui/login">
<input type="hidden" name="nonce" value="${nonce}">
<label for="token">Console token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="muted">Ask the administrator of this scim-sync for a viewer or operator token.</p>
</section>`;
    sendHtml(res, status, frame(undefined, { title: 'Sign in', body }), { 'set-cookie': setCookie(LOGIN_COOKIE, nonce, { maxAgeSeconds: 600, secure }) });
  }

  async function signIn(req: IncomingMessage, res: ServerResponse, hosts: ReadonlySet<string>): Promise<void> {
    const form = await readForm(req);
    const nonce = cookies(req).get(loginCookie);
    if (!form || !sameOrigin(req, hosts, settings.publicUrl) || !nonce || !sameSecret(form.get('nonce') ?? '', nonce)) {
      return loginPage(res, 403, 'This sign-in form has expired or did not come from this console: try again.');
    }
    const client = clientAddress(req, proxies);
    // Counted by the client's network (an IPv6 /64), logged by its own address.
    const outcome = auth.signIn(form.get('token') ?? '', clientNetwork(client));
    if ('retryAfterSeconds' in outcome) {
      ctx.log(`console: sign-in refused from ${client}: too many failed attempts`);
      res.setHeader('retry-after', String(outcome.retryAfterSeconds));
      return loginPage(res, 429, `Too many failed sign-ins from your address: try again in ${outcome.retryAfterSeconds} seconds.`);
    }
    if ('refused' in outcome) {
      ctx.log(`console: failed sign-in from ${client}`);
      return loginPage(res, 401, 'That token is not valid.');
    }
    ctx.log(`console: ${outcome.session.user.name} (${outcome.session.user.role}) signed in from ${client}`);
    redirect(res, '/ui', { 'set-cookie': [setCookie(SESSION_COOKIE, outcome.id, { maxAgeSeconds: sessionMaxAge, secure }), setCookie(LOGIN_COOKIE, '', { maxAgeSeconds: 0, secure })] });
  }

  async function view(path: string, params: URLSearchParams, session: Session): Promise<{ title: PageFrame['title']; section?: PageFrame['section']; body: Html; status?: number } | undefined> {
    if (path === '/ui' || path === '/ui/') {
      let queues: QueueStatus | undefined;
      let problem: string | undefined;
      if (distributed) queues = await queueStatus().catch((error: unknown) => ((problem = describeError(error)), undefined));
      const body = await overviewPage(ctx, session, await activity.lastHour(), queues);
      return { title: 'Overview', section: 'overview', body: problem ? html`${notice('bad', `Queues could not be read: ${problem}`)}${body}` : body };
    }
    if (path === '/ui/log') return { title: 'Provisioning log', section: 'log', body: await gatesOf(session).log.run(() => logPage(ctx, params)) };
    if (path === '/ui/person') {
      const key = personKey(params.get('key'));
      const person = await gatesOf(session).person.run(() => planPerson(ctx.loaded, ctx.state, key));
      const { config } = ctx.loaded;
      const view = { redacted: config.audit.redactAttributes, feeding: sourceAttributesFeeding(config, config.audit.redactAttributes), read: sourceAttributesRead(config) };
      return { title: html`Person ${echoed(key)}`, section: 'person', body: personPage(person, session, view) };
    }
    if (path === '/ui/staged') {
      const taken = await recoverStaged({ staged: ctx.state.staged, rejections: ctx.state.rejections, audit: withInitiator(ctx.state.audit, consoleWho(session.user)) });
      return { title: 'Staged changes', section: 'staged', body: stagedListPage(await ctx.state.staged.list(), taken) };
    }
    const staged = /^\/ui\/staged\/([A-Za-z0-9-]{1,64})$/.exec(path);
    if (staged) {
      const { set } = await ctx.state.staged.get(staged[1]!);
      return { title: `Staged set ${set.id}`, section: 'staged', body: stagedSetPage(set, session, ctx.loaded.config.audit.redactAttributes) };
    }
    if (path === '/ui/queues' && distributed) return { title: 'Queues', section: 'queues', body: queuesPage(await queueStatus(), session) };
    return undefined;
  }

  function act(path: string, form: URLSearchParams, session: Session): Promise<ActionPage> {
    const user = session.user;
    switch (path) {
      case '/ui/person/provision':
        return personAction(ctx, user, 'provision', personKey(form.get('key')), '');
      case '/ui/person/deprovision': {
        const reason = (form.get('reason') ?? '').trim().slice(0, 500);
        if (reason === '') throw new Refusal(409, html`An emergency deprovision needs a reason: it is recorded with your name.`);
        return personAction(ctx, user, 'deprovision', personKey(form.get('key')), reason);
      }
      case '/ui/person/release':
        return releaseAction(ctx, user, personKey(form.get('key')));
      case '/ui/staged/approve':
        return approveAction(ctx, user, form.get('id') ?? '');
      case '/ui/staged/reject':
        return rejectAction(ctx, user, form.get('id') ?? '');
      case '/ui/quarantine/lift':
        return liftAction(ctx, user, form.get('target') ?? '');
      default:
        return retryAction(ctx, user, form.get('target') ?? '');
    }
  }

  /**
   * A page that says what went wrong. What the user can act on (no such person, a set already
   * decided, busy) in the error's own words as error-text.ts allows them (the request's quotes as
   * sent, no file paths for a viewer); an internal failure only as a reference into the service
   * log, which has its words: those name state files, Redis addresses and the like, which are not
   * for whoever holds a console session. `freeText`: the request named a person in words of its own.
   */
  function failure(res: ServerResponse, session: Session | undefined, error: unknown, freeText: boolean): void {
    const status =
      error instanceof Refusal ? error.status
      : error instanceof NotFoundError ? 404
      : error instanceof ConfigError || error instanceof PlanError || error instanceof SafetyError ? 409
      : error instanceof BusyError ? 429
      : 500;
    if (status !== 500) {
      const said = shownRefusal(error, { freeText, viewer: session?.user.role !== 'operator' }, ctx.log);
      const next = error instanceof SafetyError && error.stagedMessage ? ` ${error.stagedMessage}` : '';
      return sendHtml(res, status, frame(session, { title: 'Not possible', body: notice('bad', html`${said}${next}`) }));
    }
    const ref = errorReference();
    ctx.log(`console: error ${ref}: ${describeError(error)}`);
    sendHtml(res, 500, frame(session, { title: 'Something went wrong', body: notice('bad', `An internal error (reference ${ref}); the service log has its details.`) }));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hosts = allowedHosts(req, settings.publicUrl);
    if (!hosts.has(req.headers.host ?? '')) return sendText(res, 421, 'This console answers only to its own address.\n');
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    const get = req.method === 'GET' || req.method === 'HEAD';
    const post = req.method === 'POST';
    if (!get && !post) return sendText(res, 405, 'GET or POST\n', undefined, { allow: 'GET, HEAD, POST' });
    if (path === '/ui/static/console.css' && get) return sendText(res, 200, CONSOLE_CSS, 'text/css; charset=utf-8');
    const sessionId = cookies(req).get(sessionCookie);
    const session = auth.session(sessionId);
    const client = session ? undefined : clientAddress(req, proxies);
    const limited = limit.take(session ? `session ${session.csrf}` : `client ${clientNetwork(client!)}`);
    if (limited) {
      const wait = limited.retryAfterSeconds;
      if (limited.first) ctx.log(`console: requests of ${session ? `a session of ${session.user.name}` : `client ${client}`} refused: more than ${settings.requestsPerMinute} a minute`);
      return sendHtml(res, 429, frame(session, { title: 'Too many requests', body: notice('bad', `More than ${settings.requestsPerMinute} requests a minute: try again in ${wait} seconds.`) }), { 'retry-after': String(wait) });
    }
    if (path === '/ui/login') return post ? signIn(req, res, hosts) : loginPage(res, 200);
    if (!session) return get ? redirect(res, '/ui/login') : sendHtml(res, 401, frame(undefined, { title: 'Signed out', body: html`${notice('bad', 'Your session has ended.')}<p><a href="/ui/login">Sign in again</a></p>` }));
    try {
      if (get) {
        const shown = await view(path, url.searchParams, session);
        if (!shown) return sendHtml(res, 404, frame(session, { title: 'Not found', body: html`<p>No such page. <a href="/ui">Overview</a></p>` }));
        return sendHtml(res, shown.status ?? 200, frame(session, { title: shown.title, ...(shown.section ? { section: shown.section } : {}), body: shown.body }));
      }
      const form = await readForm(req);
      if (!form) return sendHtml(res, 415, frame(session, { title: 'Not accepted', body: notice('bad', 'Forms only, of at most 16 KiB.') }));
      if (!sameOrigin(req, hosts, settings.publicUrl) || !sameSecret(form.get('csrf') ?? '', session.csrf)) {
        ctx.log(`console: ${session.user.name}: ${path} refused: the form's CSRF token or origin is not this console's`);
        return sendHtml(res, 403, frame(session, { title: 'Refused', body: notice('bad', 'This form did not come from this console (its CSRF token or origin does not match). Reload the page and try again.') }));
      }
      if (path === '/ui/logout') {
        auth.signOut(sessionId);
        return redirect(res, '/ui/login', { 'set-cookie': setCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure }) });
      }
      if (!ACTIONS.has(path)) return sendHtml(res, 404, frame(session, { title: 'Not found', body: html`<p>No such action.</p>` }));
      if (session.user.role !== 'operator') {
        ctx.log(`console: ${session.user.name} (viewer): ${path} refused`);
        return sendHtml(res, 403, frame(session, { title: 'Refused', body: notice('bad', 'Only an operator may do this; you are signed in as a viewer.') }));
      }
      const done = await act(path, form, session);
      return sendHtml(res, done.status, frame(session, { title: done.title, body: done.body }));
    } catch (error) {
      return failure(res, session, error, path === '/ui/person' || path.startsWith('/ui/person/'));
    }
  }

  return {
    handle,
    close: async () => {
      clearInterval(sampler);
      (await redis?.current()?.catch(() => undefined))?.disconnect();
    },
  };
}
