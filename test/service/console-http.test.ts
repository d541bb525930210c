/**
 * The web console over HTTP, against the sandbox: off unless configured; a sign-in by token with
 * a cookie a script cannot read and a limit on guesses; a strict CSP; a viewer who sees but cannot
 * act; forms refused without their CSRF token or from another origin or host name; hostile values
 * from the source shown escaped and secrets never shown; every action in the provisioning log with
 * who did it and why.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, TOKEN, peopleCsv, person } from '../support/harness.js';
import { startTestService, type RunningService } from '../support/service.js';
import { ConsoleClient, OPERATOR_TOKEN, VIEWER_TOKEN, consoleYaml, field, type Answer } from '../support/console.js';
import { StagedTaker, killTakers } from '../support/staged-taker-process.js';

let h: Harness;
let s: RunningService | undefined;
afterEach(async () => {
  await killTakers();
  await s?.stop();
  s = undefined;
  await h.close();
});

const people = Array.from({ length: 5 }, (_, i) => person(i + 1));
const userOf = (n: number) => h.sandbox.store.findUserByUserName(`user${n}@example.com`);

/** The status of a GET with this Host header (fetch will not send one of its own choosing). */
function statusFor(base: string, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { host }, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(extra = ''): Promise<{ viewer: ConsoleClient; operator: ConsoleClient }> {
  h = await Harness.start({ top: consoleYaml(extra) });
  h.writePeople(people);
  s = await startTestService(h);
  await s.firstCycle;
  const viewer = new ConsoleClient(s.url);
  const operator = new ConsoleClient(s.url);
  expect((await viewer.signIn(VIEWER_TOKEN)).status).toBe(303);
  expect((await operator.signIn(OPERATOR_TOKEN)).status).toBe(303);
  return { viewer, operator };
}

describe('console: access', () => {
  it('is off unless configured: /ui is not found', async () => {
    h = await Harness.start();
    h.writePeople(people);
    s = await startTestService(h);
    expect((await s.get('/ui')).status).toBe(404);
    expect((await s.get('/ui/login')).status).toBe(404);
  });

  it('sends a visitor without a session to the sign-in page, and signs in by token with a strict cookie and CSP', async () => {
    h = await Harness.start({ top: consoleYaml() });
    h.writePeople(people);
    s = await startTestService(h);
    const c = new ConsoleClient(s.url);
    const first = await c.get('/ui');
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/ui/login');
    const login = await c.get('/ui/login');
    expect(login.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(login.headers.get('content-security-policy')).not.toMatch(/script-src|unsafe/);
    expect(login.headers.get('x-frame-options')).toBe('DENY');
    const signedIn = await c.signIn(OPERATOR_TOKEN);
    expect(signedIn.status).toBe(303);
    const cookie = signedIn.headers.getSetCookie().find((x) => x.startsWith('scimsync_session='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\/ui/);
    // Served over plain HTTP on loopback: a Secure cookie would never come back.
    expect(cookie).not.toMatch(/Secure/);
    const overview = await c.get('/ui');
    expect(overview.status).toBe(200);
    expect(overview.body).toContain('alice (operator)');
    expect(s.lines.join('\n')).toMatch(/console: alice \(operator\) signed in from 127\.0\.0\.1/);
    // Signed out: the session is gone on the server, not only in the browser.
    const csrf = field(overview.body, 'csrf');
    const session = cookie.split(';')[0]!;
    expect((await c.post('/ui/logout', { csrf })).status).toBe(303);
    const replay = await fetch(`${s.url}/ui`, { redirect: 'manual', headers: { cookie: session } });
    expect(replay.status).toBe(303);
  });

  it('over https: the session cookie is __Host- prefixed (Secure, the whole host, no Domain), and only that name signs in', async () => {
    h = await Harness.start({ top: consoleYaml('    publicUrl: https://scim-sync.example.com\n') });
    h.writePeople(people);
    s = await startTestService(h);
    const c = new ConsoleClient(s.url);
    const login = await c.get('/ui/login');
    expect(login.headers.getSetCookie()[0]).toMatch(/^__Host-scimsync_login=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=600; Secure$/);
    const signedIn = await c.post('/ui/login', { nonce: field(login.body, 'nonce'), token: OPERATOR_TOKEN });
    expect(signedIn.status).toBe(303);
    const cookie = signedIn.headers.getSetCookie().find((x) => x.startsWith('__Host-scimsync_session='))!;
    expect(cookie).toMatch(/^__Host-scimsync_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
    expect((await c.get('/ui')).status).toBe(200);
    // The same id under the unprefixed name (as a sibling host or a plain-http page could set it) is no session.
    const id = cookie.split(';')[0]!.split('=')[1]!;
    expect((await fetch(`${s.url}/ui`, { redirect: 'manual', headers: { cookie: `scimsync_session=${id}` } })).status).toBe(303);
  });

  it('limits the requests of each session, and of each address without one, to requestsPerMinute (429 with Retry-After)', async () => {
    const { viewer, operator } = await serve('    requestsPerMinute: 10\n');
    for (let i = 0; i < 10; i++) expect((await viewer.get('/ui/log?person=E1001')).status).toBe(200);
    const limited = await viewer.get('/ui/log?person=E1001');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toContain('More than 10 requests a minute');
    // Another session is not limited by it.
    expect((await operator.get('/ui')).status).toBe(200);
    // Without a session (the sign-in page, a sign-in), per address: this one has signed two in already.
    const anonymous = new ConsoleClient(s!.url);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await anonymous.get('/ui/login')).status);
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(statuses.slice(6)).toEqual([429, 429, 429, 429]);
    expect(s!.lines.filter((l) => l.includes('refused: more than 10 a minute'))).toHaveLength(2);
  });

  it('refuses a wrong token, and after five failures refuses even the right one for a while', async () => {
    h = await Harness.start({ top: consoleYaml() });
    h.writePeople(people);
    s = await startTestService(h);
    const c = new ConsoleClient(s.url);
    for (let i = 0; i < 5; i++) expect((await c.signIn(`${OPERATOR_TOKEN.slice(0, -1)}x`)).status).toBe(401);
    const limited = await c.signIn(OPERATOR_TOKEN);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await c.get('/ui')).status).toBe(303);
    // No token is ever written to the service's log.
    expect(s.lines.join('\n')).not.toContain(OPERATOR_TOKEN.slice(0, 20));
  });

  it('behind a listed proxy, counts failed sign-ins per client from X-Forwarded-For; without the listing, a forged X-Forwarded-For dodges nothing', async () => {
    h = await Harness.start({ top: consoleYaml('    trustedProxies: [127.0.0.1]\n') });
    h.writePeople(people);
    s = await startTestService(h);
    const wrong = `${OPERATOR_TOKEN.slice(0, -1)}x`;
    const attacker = new ConsoleClient(s.url);
    // The client wrote an address of its own at the front; the proxy appended the one it saw.
    const viaProxy = (client: string) => ({ 'x-forwarded-for': `198.51.100.1, ${client}` });
    for (let i = 0; i < 5; i++) expect((await attacker.signIn(wrong, viaProxy('203.0.113.5'))).status).toBe(401);
    expect((await attacker.signIn(OPERATOR_TOKEN, viaProxy('203.0.113.5'))).status).toBe(429);
    // A colleague behind the same proxy, and the address the attacker forged, are not refused.
    expect((await new ConsoleClient(s.url).signIn(OPERATOR_TOKEN, viaProxy('203.0.113.6'))).status).toBe(303);
    expect((await new ConsoleClient(s.url).signIn(OPERATOR_TOKEN, viaProxy('198.51.100.1'))).status).toBe(303);
    expect(s.lines.join('\n')).toContain('sign-in refused from 203.0.113.5');
    await s.stop();
    await h.close();

    h = await Harness.start({ top: consoleYaml() });
    h.writePeople(people);
    s = await startTestService(h);
    const forger = new ConsoleClient(s.url);
    for (let i = 0; i < 5; i++) expect((await forger.signIn(wrong, { 'x-forwarded-for': `203.0.113.${i}` })).status).toBe(401);
    expect((await forger.signIn(OPERATOR_TOKEN, { 'x-forwarded-for': '203.0.113.99' })).status).toBe(429);
  });

  it('refuses trustedProxies that are not addresses, or that take in most addresses', async () => {
    for (const [range, message] of [
      ['10.0.0.300', 'an IP address or a CIDR range'],
      ['10.0.0.0/33', 'an IP address or a CIDR range'],
      ['0.0.0.0/0', 'a range this broad'],
      ['::/0', 'a range this broad'],
      ['0.0.0.0/1', 'a range this broad'],
      ['::/1', 'a range this broad'],
      ['::ffff:0:0/96', 'a range this broad'],
      ['::/32', 'a range this broad'],
    ] as const) {
      h = await Harness.start({ top: consoleYaml(`    trustedProxies: ["${range}"]\n`) });
      const run = await h.cli('validate', '--config', h.configFile);
      expect(run.code, range).toBe(2);
      expect(run.out + run.err, range).toContain('serve.console.trustedProxies');
      expect(run.out + run.err, range).toContain(message);
      await h.close();
    }
    h = await Harness.start({});
  });

  it('answers only to its own host name (no DNS rebinding), and refuses a sign-in form from another origin', async () => {
    const { operator } = await serve();
    expect(await statusFor(s!.url, '/ui', 'attacker.example')).toBe(421);
    expect(await statusFor(s!.url, '/ui/login', `localhost:${new URL(s!.url).port}`)).toBe(200);
    const c = new ConsoleClient(s!.url);
    const form = await c.get('/ui/login');
    const crossSite = await c.post('/ui/login', { nonce: field(form.body, 'nonce'), token: OPERATOR_TOKEN }, { origin: 'https://attacker.example' });
    expect(crossSite.status).toBe(403);
    // A form without the sign-in page's nonce (a login CSRF) is refused too.
    expect((await new ConsoleClient(s!.url).post('/ui/login', { token: OPERATOR_TOKEN })).status).toBe(403);
  });

  it('refuses a console on a non-loopback address without an https public address', async () => {
    h = await Harness.start({ top: consoleYaml().replace('serve:\n', 'serve:\n  listen: 0.0.0.0:0\n') });
    const check = await h.cli('validate', '--config', h.configFile);
    expect(check.code).not.toBe(0);
    expect(check.err + check.out).toMatch(/serve\.console\.publicUrl \(line \d+\): serve\.listen 0\.0\.0\.0:0 is not a loopback address/);
  });
});

describe('console: actions', () => {
  it('a POST without the CSRF token, or from another origin, is refused and does nothing', async () => {
    const { operator } = await serve();
    const before = h.audit().length;
    const none = await operator.post('/ui/person/deprovision', { key: 'E1002', reason: 'test' });
    expect(none.status).toBe(403);
    const wrong = await operator.post('/ui/person/deprovision', { key: 'E1002', reason: 'test', csrf: 'x'.repeat(43) });
    expect(wrong.status).toBe(403);
    const csrf = await operator.csrf();
    const crossSite = await operator.post('/ui/person/deprovision', { key: 'E1002', reason: 'test', csrf }, { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    s!.state.audit.flush();
    expect(h.audit().length).toBe(before);
    expect(userOf(2)?.['active']).toBe(true);
  });

  it('a person\'s page masks the attributes audit.redactAttributes lists: the next cycle\'s old and new values, and the source attributes that feed them', async () => {
    const { viewer } = await serve('audit: { redactAttributes: [title, phoneNumbers] }\n');
    h.writePeople(people.map((p) => (p.id === 'E1002' ? { ...p, title: 'SECRET-TITLE' } : p)));
    const page = await viewer.get('/ui/person?key=E1002');
    expect(page.status).toBe(200);
    expect(page.body).toContain('user2@example.com');
    expect(page.body).toMatch(/<code>title<\/code><\/td><td><code>\[redacted\]<\/code> &rarr; <code>\[redacted\]<\/code>/);
    expect(page.body).not.toContain('SECRET-TITLE');
    expect(page.body).toMatch(/<tr><th>title<\/th><td>\[redacted\]<\/td><\/tr>/);
  });

  it('a person\'s page shows a viewer the source attributes provisioning reads, not the rest of an HR export; an operator can open the rest', async () => {
    const { viewer, operator } = await serve();
    // The export gains columns no mapping or scope reads.
    const [header, ...rows] = peopleCsv(people).trimEnd().split('\n');
    writeFileSync(h.csv, `${[`${header},salary,national_id`, ...rows.map((r, i) => `${r},${91000 + i},NI-SECRET-${i}`)].join('\n')}\n`);
    const page = await viewer.get('/ui/person?key=E1002');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<tr><th>department<\/th><td>Eng<\/td><\/tr>/);
    expect(page.body).not.toContain('NI-SECRET-1');
    expect(page.body).not.toContain('91001');
    expect(page.body).toMatch(/\d+ more source attributes no mapping or scope reads: not shown/);
    const full = await operator.get('/ui/person?key=E1002');
    expect(full.body).toMatch(/<details><summary>\d+ more source attributes no mapping or scope reads<\/summary>/);
    expect(full.body).toContain('NI-SECRET-1');
  });

  it('a person\'s page masks a listed attribute\'s value in the scope filters too', async () => {
    h = await Harness.start({ top: consoleYaml('audit: { redactAttributes: [title] }\n'), target: '    scope:\n      - { title: { startsWith: SECRET } }' });
    h.writePeople(people.map((p) => (p.id === 'E1002' ? { ...p, title: 'SECRET-TITLE' } : p)));
    s = await startTestService(h);
    await s.firstCycle;
    const viewer = new ConsoleClient(s.url);
    expect((await viewer.signIn(VIEWER_TOKEN)).status).toBe(303);
    const page = await viewer.get('/ui/person?key=E1002');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Scope filters');
    expect(page.body).toMatch(/pass: title startsWith .*\(value \[redacted\]\)/);
    expect(page.body).not.toContain('SECRET-TITLE');
  });

  it('a viewer sees a person but no action, and their POST is refused', async () => {
    const { viewer } = await serve();
    const page = await viewer.get('/ui/person?key=E1002');
    expect(page.status).toBe(200);
    expect(page.body).toContain('user2@example.com');
    expect(page.body).not.toMatch(/action="\/ui\/person\/(provision|deprovision)"/);
    const csrf = await viewer.csrf();
    const refused = await viewer.post('/ui/person/deprovision', { key: 'E1002', reason: 'I should not', csrf });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/Only an operator/);
    expect(userOf(2)?.['active']).toBe(true);
    expect(s!.lines.join('\n')).toMatch(/helpdesk \(viewer\): \/ui\/person\/deprovision refused/);
  });

  it('an emergency deprovision needs a reason, and is recorded with who and why', async () => {
    const { operator } = await serve();
    const csrf = await operator.csrf();
    const blank = await operator.post('/ui/person/deprovision', { key: 'E1002', reason: '  ', csrf });
    expect(blank.status).toBe(409);
    expect(blank.body).toMatch(/needs a reason/);
    expect(userOf(2)?.['active']).toBe(true);
    const done = await operator.post('/ui/person/deprovision', { key: 'E1002', reason: 'ticket SEC-42: laptop stolen', csrf });
    expect(done.status, done.body).toBe(200);
    expect(userOf(2)?.['active']).toBe(false);
    s!.state.audit.flush();
    const records = h.audit().filter((r) => r['externalId'] === 'E1002' && r['time'] !== undefined);
    expect(records.find((r) => r['action'] === 'person.deprovision')).toMatchObject({ initiator: 'console', by: 'console:alice', note: 'reason: ticket SEC-42: laptop stolen' });
    expect(records.find((r) => r['action'] === 'deprovisionUser')).toMatchObject({ outcome: 'ok', initiator: 'console', by: 'console:alice' });
    // Held: the person page says so and offers release; release is recorded too.
    const held = await operator.get('/ui/person?key=E1002');
    expect(held.body).toMatch(/Held off by an emergency deprovision: "ticket SEC-42: laptop stolen", by console:alice/);
    expect((await operator.post('/ui/person/release', { key: 'E1002', csrf })).status).toBe(200);
    s!.state.audit.flush();
    expect(h.audit().find((r) => r['action'] === 'person.release')).toMatchObject({ externalId: 'E1002', initiator: 'console', by: 'console:alice' });
  });
});

describe('console: what it shows', () => {
  it('shows a hostile value from the source escaped, and never a secret', async () => {
    const hostile = '<script>alert(1)</script>';
    h = await Harness.start({ top: consoleYaml() });
    h.writePeople([...people, person(6, { first: hostile, title: `Engineer ${TOKEN}` })]);
    s = await startTestService(h);
    await s.firstCycle;
    const c = new ConsoleClient(s.url);
    await c.signIn(VIEWER_TOKEN);
    const pages = [await c.get('/ui/person?key=E1006'), await c.get('/ui/log?person=E1006'), await c.get('/ui')];
    for (const p of pages) {
      expect(p.status).toBe(200);
      expect(p.body).not.toContain('<script');
      expect(p.body).not.toContain(TOKEN);
      expect(p.body).not.toContain(VIEWER_TOKEN);
      expect(p.body).not.toContain(OPERATOR_TOKEN);
    }
    expect(pages[0]!.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(pages[0]!.body).toContain('Engineer [redacted]');
    // Escaped in the log's modified values too (the create's record names the person).
    expect(pages[1]!.body).toContain('E1006');
    // A hostile search is escaped where the form shows it back.
    const search = await c.get(`/ui/log?person=${encodeURIComponent('"><script>x</script>')}`);
    expect(search.body).not.toContain('<script>x');
    expect(search.body).toContain('&quot;&gt;&lt;script&gt;x&lt;/script&gt;');
  });

  it("a server's error quoting a value of audit.redactAttributes (an update's old or new, a create's) reaches neither the log page nor audit.jsonl", async () => {
    h = await Harness.synced(people, { top: consoleYaml('audit: { redactAttributes: [title] }\n') });
    const refused = (title: string) => ({ type: 'status' as const, status: 400, detail: `title "${title}" is not an allowed value` });
    h.writePeople([...people.map((p) => (p.id === 'E1002' ? { ...p, title: 'SECRET-TITLE-XYZ' } : p)), person(6, { title: 'SECRET-NEW-HIRE' })]);
    for (const method of ['PATCH', 'PUT']) h.sandbox.addFault({ method, path: '/Users', times: Infinity, action: refused('SECRET-TITLE-XYZ (was Engineer)') });
    h.sandbox.addFault({ method: 'POST', path: '/Users', times: Infinity, action: refused('SECRET-NEW-HIRE') });
    s = await startTestService(h);
    await s.firstCycle;
    s.state.audit.flush();
    const failed = h.audit().filter((r) => r['outcome'] === 'failed');
    expect(failed.map((r) => r['action']).sort()).toEqual(['createUser', 'updateUser']);
    expect(JSON.stringify(h.audit())).not.toMatch(/SECRET-TITLE-XYZ|SECRET-NEW-HIRE|was Engineer/);
    expect(failed.find((r) => r['action'] === 'updateUser')!['error']).toMatchObject({ detail: 'title "[redacted] (was [redacted])" is not an allowed value' });
    const viewer = new ConsoleClient(s.url);
    await viewer.signIn(VIEWER_TOKEN);
    for (const key of ['E1002', 'E1006']) {
      const log = await viewer.get(`/ui/log?person=${key}`);
      expect(log.body).toMatch(/is not an allowed value/);
      expect(log.body).not.toMatch(/SECRET-TITLE-XYZ|SECRET-NEW-HIRE/);
    }
  });

  it('the overview shows each target with its last cycle and the source', async () => {
    const { viewer } = await serve();
    const page = await viewer.get('/ui');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<td><strong>app<\/strong><\/td>\s*<td><span class="ok">healthy<\/span>/);
    expect(page.body).toMatch(/<dt>People<\/dt><dd>5 \(5 active\)/);
    expect(page.body).toMatch(/Last full cycle/);
  });

  it("a refusal shown to a viewer names no file path (the state directory, the source's file); an operator's does", async () => {
    const { viewer, operator } = await serve();
    const staged = await viewer.get('/ui/staged/st-00000000');
    expect(staged.status).toBe(409);
    expect(staged.body).toContain('no staged set st-00000000 in …: scim-sync staged lists them');
    const nobody = await viewer.get('/ui/person?key=nosuch');
    expect(nobody.status).toBe(409);
    expect(nobody.body).toContain('no person with key &quot;nosuch&quot; in the source (csv:…) nor');
    for (const page of [staged, nobody]) expect(page.body).not.toContain(h.dir);
    expect((await operator.get('/ui/staged/st-00000000')).body).toContain(`no staged set st-00000000 in ${join(h.dir, 'state', 'staged')}`);
    expect((await operator.get('/ui/person?key=nosuch')).body).toContain(`(csv:${join(h.dir, 'people.csv')})`);
  });

  it('an internal failure shows a reference into the service log, not its words (state paths are not for every session)', async () => {
    const { viewer } = await serve();
    // The staged sets' folder replaced by a file: listing them fails inside the state store.
    const staged = join(h.dir, 'state', 'staged');
    rmSync(staged, { recursive: true, force: true });
    writeFileSync(staged, 'not a folder');
    const page = await viewer.get('/ui/staged');
    expect(page.status).toBe(500);
    expect(page.body).not.toContain(h.dir);
    const ref = /reference ([A-Za-z0-9_-]{8})/.exec(page.body)?.[1];
    expect(ref).toBeDefined();
    // The log has the words, under the same reference.
    expect(s!.lines.find((l) => l.includes(`error ${ref}:`))).toContain(staged);
  });
});

describe("console: the request's own text", () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const HEADER = `${b64({ alg: 'HS256', typ: 'JWT' })}.`;
  const escape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

  /** A service whose second target's bearer token is a JWT (registered with the redactor when the config loads). */
  async function withJwt(): Promise<string> {
    const payload = b64({ sub: 'gateway', jti: randomBytes(12).toString('hex') });
    const jwt = `${HEADER}${payload}.${createHmac('sha256', randomBytes(32)).update(`${HEADER}${payload}`).digest('base64url')}`;
    process.env['REVIEW_GATEWAY_KEY'] = jwt;
    h = await Harness.start({ top: consoleYaml() });
    h.writeConfig(`  crm:\n    url: ${h.sandbox.url}\n    auth: { type: bearer, token: "\${env:REVIEW_GATEWAY_KEY}" }`);
    h.writePeople(people);
    s = await startTestService(h);
    await s.firstCycle;
    return jwt;
  }

  /**
   * The redactor as an oracle: `known + c` came back "[redacted]" only when c was the secret's next
   * character (a 148-character JWT read back in 3,370 viewer requests). Now each probe comes back as
   * sent, and the page for the right character is the page for a wrong one.
   */
  it("answers a secret's next character and a wrong one alike, each echoed as typed, wherever a request's text is shown", async () => {
    const jwt = await withJwt();
    const viewer = new ConsoleClient(s!.url);
    const operator = new ConsoleClient(s!.url);
    await viewer.signIn(VIEWER_TOKEN);
    await operator.signIn(OPERATOR_TOKEN);
    const csrf = await operator.csrf();
    const alike = (right: Answer, wrong: Answer, probes: [string, string], where: string) => {
      expect(right.body, where).toContain(escape(probes[0]));
      expect(wrong.body, where).toContain(escape(probes[1]));
      expect(right.body, where).not.toContain('[redacted]');
      // The same page but for the probe (and the time a step was taken).
      const page = (a: Answer, probe: string) => [a.status, a.body.replaceAll(escape(probe), '§').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T')];
      expect(page(right, probes[0]), where).toEqual(page(wrong, probes[1]));
    };
    for (const at of [HEADER.length, 60, jwt.length - 1]) {
      const known = jwt.slice(at - 24, at);
      const wrongChar = jwt[at] === 'A' ? 'B' : 'A';
      const probes: [string, string] = [known + jwt[at], known + wrongChar];
      const both = async (ask: (probe: string) => Promise<Answer>, where: string) => alike(await ask(probes[0]), await ask(probes[1]), probes, `${where} at ${at}`);
      const q = encodeURIComponent;
      await both((p) => viewer.get(`/ui/log?person=${q(p)}`), 'log search: person');
      await both((p) => viewer.get(`/ui/log?action=${q(p)}`), 'log search: action');
      await both((p) => viewer.get(`/ui/log?since=${q(p)}&until=${q(p)}`), 'log search: since and until, "not a time"');
      await both((p) => viewer.get(`/ui/log?cycle=${q(p)}&person=${q(p)}`), 'log search: cycle, and the link to all cycles');
      await both((p) => viewer.get(`/ui/person?key=${q(p)}`), 'a person nobody knows');
      await both((p) => operator.post('/ui/person/provision', { key: p, csrf }), 'provision of a person nobody knows');
      await both((p) => operator.post('/ui/person/release', { key: p, csrf }), 'release of a person not held');
      await both((p) => operator.post('/ui/person/deprovision', { key: p, reason: p, csrf }), 'deprovision of a person nobody knows, and its reason');
      await both((p) => operator.post('/ui/staged/approve', { id: p, csrf }), 'approve of a set id');
      await both((p) => operator.post('/ui/quarantine/lift', { target: p, csrf }), 'a target to lift');
    }
    // A path is the request's text too (ids are letters, digits and "-": a token of those is read so).
    const plain = 'Zx9' + jwt.slice(HEADER.length, HEADER.length + 30).replace(/[^A-Za-z0-9-]/g, 'q');
    alike(await viewer.get(`/ui/staged/${plain}`), await viewer.get(`/ui/staged/${plain.slice(0, -1)}W`), [plain, `${plain.slice(0, -1)}W`], 'a staged set id in the path');
  });

  it('shows a short secret typed whole as typed: a guess is not told from a miss', async () => {
    const { viewer } = await serve();
    const shown = async (guess: string) => /name="person" value="([^"]*)"/.exec((await viewer.get(`/ui/log?person=${encodeURIComponent(guess)}`)).body)![1];
    expect(await shown(TOKEN)).toBe(TOKEN);
    expect(await shown(`${TOKEN.slice(0, -1)}0`)).toBe(`${TOKEN.slice(0, -1)}0`);
    expect(await shown(VIEWER_TOKEN)).toBe(VIEWER_TOKEN);
    // Still escaped.
    expect(await shown('"><b>x')).toBe('&quot;&gt;&lt;b&gt;x');
  });
});

describe('console: decisions', () => {
  /** A service whose first cycle the safety check stopped (5 of 20 leave): their deprovisions are staged. */
  async function stoppedCycle(): Promise<RunningService> {
    h = await Harness.synced(Array.from({ length: 20 }, (_, i) => person(i + 1)), { top: consoleYaml() });
    h.writePeople(Array.from({ length: 20 }, (_, i) => person(i + 1, i < 5 ? { status: 'terminated' } : {})));
    const service = await startTestService(h);
    s = service;
    expect((await service.firstCycle)?.result?.kind).toBe('stopped');
    return service;
  }

  it('rejects a staged set and clears a quarantine, each recorded with who', async () => {
    s = await stoppedCycle();
    await s.state.quarantine.set({ target: 'app', since: new Date().toISOString(), reason: 'credential refused: <b>401</b>', attempts: 1, nextTry: new Date(Date.now() + 3_600_000).toISOString() });
    const operator = new ConsoleClient(s.url);
    await operator.signIn(OPERATOR_TOKEN);
    const overview = await operator.get('/ui');
    expect(overview.body).toContain('credential refused: &lt;b&gt;401&lt;/b&gt;');
    const csrf = field(overview.body, 'csrf');
    const id = /href="\/ui\/staged\/(st-[0-9a-f]{8})"/.exec((await operator.get('/ui/staged')).body)![1]!;
    const set = await operator.get(`/ui/staged/${id}`);
    expect(set.body).toMatch(/deprovisionUser<\/strong> user1@example\.com/);
    const rejected = await operator.post('/ui/staged/reject', { id, csrf });
    expect(rejected.status, rejected.body).toBe(200);
    expect(rejected.body).toMatch(/Rejected st-[0-9a-f]{8}: 5 deprovisions will not be planned again/);
    expect((await operator.get('/ui/staged')).body).toContain('No staged change sets');
    const lifted = await operator.post('/ui/quarantine/lift', { target: 'app', csrf });
    expect(lifted.status, lifted.body).toBe(200);
    expect((await s.state.quarantine.all()).size).toBe(0);
    s.state.audit.flush();
    const audit = h.audit();
    expect(audit.filter((r) => r['action'] === 'staged.reject')).toHaveLength(5);
    expect(audit.find((r) => r['action'] === 'staged.reject')).toMatchObject({ initiator: 'console', by: 'console:alice', note: expect.stringContaining('rejected by console:alice') });
    expect(audit.find((r) => r['action'] === 'quarantine.exit')).toMatchObject({ target: 'app', initiator: 'console', by: 'console:alice', note: expect.stringMatching(/^quarantine lifted in the console by alice/) });
  });

  it('a reject pressed while an approve applies is refused: the approve decides, and the log holds one decision', async () => {
    s = await stoppedCycle();
    const alice = new ConsoleClient(s.url);
    await alice.signIn(OPERATOR_TOKEN);
    const bob = new ConsoleClient(s.url);
    await bob.signIn(OPERATOR_TOKEN);
    const id = /href="\/ui\/staged\/(st-[0-9a-f]{8})"/.exec((await alice.get('/ui/staged')).body)![1]!;
    const csrfAlice = field((await alice.get(`/ui/staged/${id}`)).body, 'csrf');
    const csrfBob = field((await bob.get(`/ui/staged/${id}`)).body, 'csrf');
    // Slow writes: the approve is still deactivating when the reject arrives.
    h.sandbox.addFault({ method: 'PATCH', times: Infinity, action: { type: 'delay', ms: 300 } });
    h.sandbox.clearRequests();
    const approving = alice.post('/ui/staged/approve', { id, csrf: csrfAlice });
    await expect.poll(() => h.sandbox.requests.some((r) => r.method === 'PATCH'), { timeout: 20_000 }).toBe(true);
    const rejected = await bob.post('/ui/staged/reject', { id, csrf: csrfBob });
    expect(rejected.status).not.toBe(200);
    expect(rejected.body).toContain(`staged set ${id} is taken by pid ${process.pid} on this host`);
    const approved = await approving;
    expect(approved.status, approved.body).toBe(200);
    for (let n = 1; n <= 5; n++) expect(userOf(n)?.['active']).toBe(false);
    s.state.audit.flush();
    expect(h.audit().filter((r) => r['action'] === 'staged.reject')).toEqual([]);
    expect(h.audit().filter((r) => r['action'] === 'staged.approve')).toHaveLength(1);
  });

  it('shows a set an approve has taken as being decided, and lists it again once that process is killed', async () => {
    s = await stoppedCycle();
    const operator = new ConsoleClient(s.url);
    await operator.signIn(OPERATOR_TOKEN);
    const id = /href="\/ui\/staged\/(st-[0-9a-f]{8})"/.exec((await operator.get('/ui/staged')).body)![1]!;
    const approving = await StagedTaker.start(join(h.dir, 'state'), id);
    const taken = (await operator.get('/ui/staged')).body;
    expect(taken).toContain('No staged change sets');
    expect(taken).toMatch(new RegExp(`Being decided now[\\s\\S]*<code>${id}</code>[\\s\\S]*pid ${approving.pid} on this host`));
    expect(taken).not.toContain(`href="/ui/staged/${id}"`);

    await approving.kill();
    expect((await operator.get('/ui/staged')).body).toContain(`href="/ui/staged/${id}"`);
    s.state.audit.flush();
    expect(h.audit().filter((r) => r['action'] === 'staged.recovered')).toEqual([
      expect.objectContaining({ initiator: 'console', by: 'console:alice', note: expect.stringContaining(`by pid ${approving.pid} on this host`) }),
    ]);
  });

  it('a log record opens to its modified properties, old and new', async () => {
    h = await Harness.synced(people, { top: consoleYaml() });
    h.writePeople(people.map((p) => (p.id === 'E1003' ? { ...p, title: 'Staff <Engineer>' } : p)));
    s = await startTestService(h);
    await s.firstCycle;
    const viewer = new ConsoleClient(s.url);
    await viewer.signIn(VIEWER_TOKEN);
    const log = await viewer.get('/ui/log?person=E1003&action=updateUser&status=success');
    expect(log.body).toMatch(/1 record match/);
    expect(log.body).toMatch(/<td><code>title<\/code><\/td><td><code>Engineer<\/code><\/td><td><code>Staff &lt;Engineer&gt;<\/code><\/td>/);
  });
});
