/**
 * The console's pure parts: the escaping template, sign-in and sessions on a clock the test moves,
 * the last hour's quantiles from histogram buckets, and the masking of listed attributes.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { ConsoleAuth, LOGIN_WINDOW_MS } from '../../src/service/console/auth.js';
import { html } from '../../src/service/console/html.js';
import type { IncomingMessage } from 'node:http';
import { addressRange, addressSet, clientNetwork } from '../../src/config/address-ranges.js';
import { clientAddress } from '../../src/service/console/web.js';
import { maskAttributes } from '../../src/service/console/person-page.js';
import { sourceAttributesFeeding } from '../../src/audit/redacted-sources.js';
import { parseConfig } from '../../src/config/load.js';
import { ACTIVITY_METRICS, RecentActivity, bucketQuantile } from '../../src/service/console/recent-activity.js';

describe('html template', () => {
  it('escapes every value for element content and quoted attributes, and nests only its own markup', () => {
    const hostile = `"><img src=x onerror='alert(1)'>\`&`;
    const inner = html`<b>${hostile}</b>`;
    const out = html`<p title="${hostile}">${inner}${[hostile, 1, null, undefined, false]}</p>`.text;
    expect(out).not.toMatch(/<img|'alert/);
    expect(out).toBe(
      '<p title="&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&#96;&amp;"><b>&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&#96;&amp;</b>&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&#96;&amp;1</p>',
    );
    // A string that looks like markup is text: only the template makes markup.
    expect(html`${'<b>x</b>'}`.text).toBe('&lt;b&gt;x&lt;/b&gt;');
  });

  it('redacts a known secret before escaping it', () => {
    const secret = new Secret('s3cr3t-value-<&>-1234', 'env:X');
    expect(html`<td>token ${secret.reveal()} here</td>`.text).toBe('<td>token [redacted] here</td>');
  });
});

describe('console sign-in', () => {
  const users = [
    { name: 'helpdesk', role: 'viewer' as const, token: new Secret('v'.repeat(30), 'env:V') },
    { name: 'alice', role: 'operator' as const, token: new Secret('o'.repeat(30), 'env:O') },
  ];

  it('finds the user whose token it is, and ends the session after sessionMinutes', () => {
    let now = 1_000_000;
    const auth = new ConsoleAuth({ users, sessionMinutes: 10, idleMinutes: 60, loginAttempts: 5 }, () => now);
    const viewer = auth.signIn('v'.repeat(30), 'a');
    const operator = auth.signIn('o'.repeat(30), 'a');
    expect('session' in viewer && viewer.session.user).toEqual({ name: 'helpdesk', role: 'viewer' });
    expect('session' in operator && operator.session.user).toEqual({ name: 'alice', role: 'operator' });
    if (!('id' in operator) || !('id' in viewer)) throw new Error('not signed in');
    expect(operator.session.csrf).not.toBe(viewer.session.csrf);
    expect(auth.session(operator.id)?.user.name).toBe('alice');
    expect(auth.session(`${operator.id}x`)).toBeUndefined();
    now += 10 * 60_000;
    expect(auth.session(operator.id)).toBeUndefined();
    // A token that is a prefix or an extension of a real one is no token.
    expect(auth.signIn('o'.repeat(29), 'b')).toEqual({ refused: true });
    expect(auth.signIn('o'.repeat(31), 'b')).toEqual({ refused: true });
  });

  it('ends a session unused for idleMinutes, before sessionMinutes; each request keeps it from ending idle', () => {
    let now = 0;
    const auth = new ConsoleAuth({ users, sessionMinutes: 480, idleMinutes: 30, loginAttempts: 5 }, () => now);
    const used = auth.signIn('o'.repeat(30), 'a') as { id: string };
    const left = auth.signIn('v'.repeat(30), 'a') as { id: string };
    for (let i = 0; i < 4; i++) {
      now += 29 * 60_000;
      expect(auth.session(used.id)?.user.name).toBe('alice');
    }
    expect(auth.session(left.id)).toBeUndefined();
    now += 30 * 60_000;
    expect(auth.session(used.id)).toBeUndefined();
  });

  it('refuses a client after loginAttempts failures, the right token too, until the oldest is out of the window; others are not affected', () => {
    let now = 0;
    const auth = new ConsoleAuth({ users, sessionMinutes: 10, idleMinutes: 60, loginAttempts: 3 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(auth.signIn('wrong', 'attacker')).toEqual({ refused: true });
      now += 1000;
    }
    expect(auth.signIn('o'.repeat(30), 'attacker')).toEqual({ retryAfterSeconds: LOGIN_WINDOW_MS / 1000 - 3 });
    expect('session' in auth.signIn('o'.repeat(30), 'colleague')).toBe(true);
    now = LOGIN_WINDOW_MS + 1;
    expect('session' in auth.signIn('o'.repeat(30), 'attacker')).toBe(true);
  });

  it('a sign-in does not clear the failures before it: a viewer cannot guess past the limit between sign-ins', () => {
    const auth = new ConsoleAuth({ users, sessionMinutes: 10, idleMinutes: 60, loginAttempts: 3 }, () => 0);
    for (let round = 0; round < 2; round++) {
      expect(auth.signIn('wrong', 'viewer-desk')).toEqual({ refused: true });
      expect('session' in auth.signIn('v'.repeat(30), 'viewer-desk')).toBe(true);
    }
    expect(auth.signIn('wrong', 'viewer-desk')).toEqual({ refused: true });
    expect(auth.signIn('wrong', 'viewer-desk')).toEqual({ retryAfterSeconds: LOGIN_WINDOW_MS / 1000 });
  });

  it('signing in again and again ends only that user\'s own oldest sessions, never another user\'s', () => {
    const auth = new ConsoleAuth({ users, sessionMinutes: 10, idleMinutes: 60, loginAttempts: 5 });
    const operator = auth.signIn('o'.repeat(30), 'a') as { id: string };
    const viewer = Array.from({ length: 1500 }, () => auth.signIn('v'.repeat(30), 'b') as { id: string });
    expect(auth.session(operator.id)?.user.role).toBe('operator');
    expect(auth.session(viewer[0]!.id)).toBeUndefined();
    expect(auth.session(viewer[1499]!.id)?.user.role).toBe('viewer');
  });
});

describe('the last hour', () => {
  it('takes quantiles from cumulative buckets as histogram_quantile does', () => {
    const buckets = [
      { le: 1, count: 50 },
      { le: 2, count: 90 },
      { le: 5, count: 100 },
      { le: Infinity, count: 100 },
    ];
    expect(bucketQuantile(0.5, buckets)).toBe(1);
    expect(bucketQuantile(0.7, buckets)).toBe(1.5);
    expect(bucketQuantile(0.99, buckets)).toBeCloseTo(4.7);
    expect(bucketQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 4 }])).toBe(1);
    expect(bucketQuantile(0.5, [{ le: Infinity, count: 0 }])).toBeUndefined();
  });

  it('counts what happened since the sample an hour old', async () => {
    const registry = new Registry();
    const events = new Counter({ name: ACTIVITY_METRICS.events, help: 'e', labelNames: ['endpoint'], registers: [registry] });
    const propagation = new Histogram({ name: ACTIVITY_METRICS.propagation, help: 'p', buckets: [1, 10], registers: [registry] });
    const people = new Counter({ name: ACTIVITY_METRICS.people, help: 'p', labelNames: ['result'], registers: [registry] });
    let now = 0;
    const recent = new RecentActivity(registry, () => now);
    events.inc({ endpoint: 'a' }, 5);
    propagation.observe(20);
    await recent.keep();
    for (let minute = 1; minute <= 90; minute++) {
      now = minute * 60_000;
      if (minute === 80) {
        events.inc({ endpoint: 'b' }, 2);
        // People of batches that were stopped or failed were not synced.
        people.inc({ result: 'applied' }, 3);
        people.inc({ result: 'stopped' }, 40);
        people.inc({ result: 'failed' }, 7);
        propagation.observe(0.5);
        propagation.observe(5);
      }
      await recent.keep();
    }
    const hour = await recent.lastHour();
    expect(hour.since).toBe(30 * 60_000);
    expect(hour.events).toBe(2);
    expect(hour.people).toBe(3);
    expect(hour.propagation.count).toBe(2);
    expect(hour.propagation.p50).toBe(1);
  });
});

describe('masking', () => {
  it('masks listed attributes at the top level and inside extensions', () => {
    const masked = maskAttributes(
      { userName: 'a', phoneNumbers: [{ value: '1' }], 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: '7', department: 'x' } },
      ['phoneNumbers', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber'],
    );
    expect(masked).toEqual({ userName: 'a', phoneNumbers: '[redacted]', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: '[redacted]', department: 'x' } });
  });

  it('finds the source attributes that feed a listed attribute, through the default mapping and a target\'s', () => {
    const { config } = parseConfig(
      'source: { type: csv, path: p.csv, key: id }\ntargets:\n  app:\n    url: https://app.example.com/scim/v2\n    auth: { type: bearer, token: "${env:T}" }\n' +
        '    mapping: { title: "{job} / {grade}" }\n',
      '/tmp/org.yaml',
      { T: 'token-12345678' },
    );
    expect(sourceAttributesFeeding(config, ['phoneNumbers', 'title'])).toEqual(new Set(['phone', 'mobile', 'title', 'job', 'grade']));
    expect(sourceAttributesFeeding(config, [])).toEqual(new Set());
  });
});

describe('console: the client address behind trusted proxies', () => {
  const req = (peer: string, forwarded?: string) => ({ socket: { remoteAddress: peer }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;
  const proxies = addressSet(['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);

  it('reads ranges, IPv4 inside IPv6 as IPv4, and refuses what is not one', () => {
    expect(addressRange('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(addressRange('::ffff:10.1.2.3')).toEqual({ address: '10.1.2.3', prefix: 32, family: 'ipv4' });
    expect(addressRange('::ffff:10.0.0.0/104')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(addressRange('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
    for (const bad of ['10.0.0.256', '10.0.0.0/33', '10.0.0.0/8/1', '10.0.0.0/x', 'proxy.local', '', '::ffff:10.0.0.0/90']) expect(addressRange(bad), bad).toBeUndefined();
    expect(proxies('::ffff:10.9.9.9')).toBe(true);
    expect(proxies('11.0.0.1')).toBe(false);
    expect(proxies('fd12::1')).toBe(true);
    expect(proxies('unknown')).toBe(false);
  });

  it('takes the last address that is not a trusted proxy, only when the peer is one', () => {
    expect(clientAddress(req('10.0.0.1', '198.51.100.1, 203.0.113.5'), proxies)).toBe('203.0.113.5');
    // Proxies in a chain are skipped; ports and brackets are dropped.
    expect(clientAddress(req('::ffff:10.0.0.1', '198.51.100.1, [2001:db8::5]:443, 10.2.3.4:5100, 192.0.2.7'), proxies)).toBe('2001:db8::5');
    expect(clientAddress(req('10.0.0.1', '203.0.113.5:41000'), proxies)).toBe('203.0.113.5');
    // A peer that is not a listed proxy: its own address, whatever it says.
    expect(clientAddress(req('203.0.113.9', '10.0.0.1, 198.51.100.1'), proxies)).toBe('203.0.113.9');
    expect(clientAddress(req('10.0.0.1', '198.51.100.1'))).toBe('10.0.0.1');
    // No header, an unreadable hop, or nothing but proxies: the last proxy read is counted.
    expect(clientAddress(req('10.0.0.1'), proxies)).toBe('10.0.0.1');
    expect(clientAddress(req('10.0.0.1', '203.0.113.5, unknown'), proxies)).toBe('10.0.0.1');
    expect(clientAddress(req('10.0.0.1', 'garbage, 10.0.0.2'), proxies)).toBe('10.0.0.2');
    expect(clientAddress(req('10.0.0.1', '10.0.0.3, 10.0.0.2'), proxies)).toBe('10.0.0.3');
  });

  it('counts an IPv6 client by its /64: a guesser taking a new address of its network for every try is one client', () => {
    expect(clientNetwork('2001:db8:aa:bb::1')).toBe('2001:db8:aa:bb::/64');
    expect(clientNetwork('2001:0db8:00aa:00bb:ffff:1:2:3')).toBe('2001:db8:aa:bb::/64');
    expect(clientNetwork('2001:db8::5')).toBe('2001:db8:0:0::/64');
    expect(clientNetwork('::1')).toBe('0:0:0:0::/64');
    expect(clientNetwork('203.0.113.5')).toBe('203.0.113.5');
    expect(clientNetwork(clientAddress(req('2001:db8:aa:bb::9')))).toBe(clientNetwork(clientAddress(req('2001:db8:aa:bb:1234:5678:9abc:def0'))));
  });
});
