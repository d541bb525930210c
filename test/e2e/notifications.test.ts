/**
 * Webhooks over real HTTP, to a local receiver on a free port: each delivery is signed with the
 * webhook's secret (checked here with our own HMAC), carries a timestamp and a delivery id, and no
 * secret; the Slack format posts `{ text }`; a 503 is retried and the same delivery then accepted;
 * a delivery that cannot be made is a warning and an audit record, never a different exit code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person, TOKEN } from '../support/harness.js';

const SECRET = 'webhook-signing-key-4b9e1d7a';
let h: Harness;
let receiver: Server;
let url: string;
let received: { headers: IncomingHttpHeaders; body: string; path: string }[];
/** Statuses the receiver answers with, in turn; 200 once they are used up. */
let answers: number[];

beforeEach(async () => {
  h = await Harness.start();
  h.writePeople(Array.from({ length: 3 }, (_, i) => person(i + 1)));
  received = [];
  answers = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), path: req.url ?? '' });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  process.env['HOOK_SECRET'] = SECRET;
});
afterEach(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  await h.close();
});

function webhooks(yaml: string): void {
  writeFileSync(h.configFile, `${readFileSync(h.configFile, 'utf8')}\nnotifications:\n  webhooks:\n${yaml}`);
}

/** A target whose credential the sandbox refuses: its run quarantines it and fails. */
function refusedTarget(): void {
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('targets:\n', `targets:\n  crm:\n    url: ${h.sandbox.url}\n    auth: { type: bearer, token: "\${env:CRM_TOKEN}" }\n`));
  process.env['CRM_TOKEN'] = 'not-the-crm-token-5d0a77';
}

function signatureValid(body: string, header: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  const got = Buffer.from(String(header));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

describe('webhook notifications', () => {
  it('quarantine and a failed cycle reach a JSON webhook, signed with its secret, with no secret in them', async () => {
    refusedTarget();
    webhooks(`    - { url: "${url}/hook", secret: "\${env:HOOK_SECRET}" }\n`);
    const r = await h.run();
    expect(r.code, r.err).toBe(1);
    expect(received.map((d) => d.headers['x-scim-sync-event'])).toEqual(['quarantine.enter', 'cycle.failed']);
    for (const d of received) {
      expect(d.path).toBe('/hook');
      expect(signatureValid(d.body, d.headers['x-scim-sync-signature'])).toBe(true);
      expect(signatureValid(`${d.body} `, d.headers['x-scim-sync-signature'])).toBe(false);
      expect(d.headers['content-type']).toBe('application/json');
      expect(Math.abs(Number(d.headers['x-scim-sync-timestamp']) - Date.now() / 1000)).toBeLessThan(120);
      const doc = JSON.parse(d.body) as Record<string, unknown>;
      expect(doc['id']).toBe(d.headers['x-scim-sync-delivery']);
      expect(JSON.stringify(d)).not.toContain(SECRET);
      expect(JSON.stringify(d)).not.toContain('not-the-crm-token-5d0a77');
      expect(JSON.stringify(d)).not.toContain(TOKEN);
    }
    const [enter, failed] = received.map((d) => JSON.parse(d.body) as Record<string, unknown>);
    expect(enter).toMatchObject({
      event: 'quarantine.enter',
      target: 'crm',
      summary: expect.stringMatching(/^scim-sync: target crm quarantined: credential refused: \[AUTH\] credential rejected \(HTTP 401\).*; next try at \d{4}-/),
      details: { target: 'crm', attempts: 1 },
    });
    expect(failed).toMatchObject({ event: 'cycle.failed', summary: expect.stringContaining('could not read crm'), details: { problems: ['could not read crm'] } });
    expect(new Set(received.map((d) => d.headers['x-scim-sync-delivery'])).size).toBe(2);

    // The next cycle leaves crm out: exit 1, but nothing new to tell.
    received = [];
    const skipped = await h.run();
    expect(skipped.code).toBe(1);
    expect(skipped.out).toContain('target crm: SKIPPED — quarantined since');
    expect(received).toEqual([]);
  });

  it('the Slack format posts { text }; a webhook gets only the events it lists', async () => {
    refusedTarget();
    webhooks(`    - { url: "${url}/slack", secret: "\${env:HOOK_SECRET}", format: slack, events: [quarantine.enter] }\n`);
    await h.run();
    expect(received).toHaveLength(1);
    const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['text']);
    expect(body['text']).toMatch(/^scim-sync: target crm quarantined: credential refused/);
    expect(signatureValid(received[0]!.body, received[0]!.headers['x-scim-sync-signature'])).toBe(true);
  });

  it('a 503 is retried and the same delivery then accepted; a successful run sends nothing', async () => {
    const clean = await h.run();
    webhooks(`    - { url: "${url}/hook", secret: "\${env:HOOK_SECRET}" }\n`);
    expect(clean.code).toBe(0);
    const nothing = await h.run();
    expect(nothing.code).toBe(0);
    expect(received).toEqual([]);

    refusedTarget();
    answers = [503, 503];
    const r = await h.run('--target', 'crm');
    expect(r.code).toBe(1);
    // quarantine.enter twice refused, then accepted; then cycle.failed.
    expect(received.map((d) => d.headers['x-scim-sync-event'])).toEqual(['quarantine.enter', 'quarantine.enter', 'quarantine.enter', 'cycle.failed']);
    expect(new Set(received.slice(0, 3).map((d) => d.body)).size).toBe(1);
    expect(new Set(received.slice(0, 3).map((d) => d.headers['x-scim-sync-delivery'])).size).toBe(1);
    expect(r.err).not.toContain('not delivered');
  });

  it('a delivery refused for good is a warning and an audit record; the exit code is the run\'s', async () => {
    refusedTarget();
    // A catch hook keeps its credential in the path: shown nowhere, neither on stderr nor in the log.
    webhooks(`    - { url: "${url}/hooks/catch/123456/zapTokenABC987654/", secret: "\${env:HOOK_SECRET}", events: [cycle.failed] }\n`);
    answers = [404];
    const r = await h.run();
    expect(r.code).toBe(1);
    expect(received).toHaveLength(1);
    const host = new URL(url).host;
    expect(r.err).toContain(`notification cycle.failed to webhooks[0] (http://${host}/…) not delivered: HTTP 404 (not retried)`);
    expect(h.audit().filter((a) => a['action'] === 'notify.failed')).toEqual([
      expect.objectContaining({ outcome: 'failed', note: `cycle.failed to webhooks[0] (http://${host}/…): HTTP 404 (not retried)` }),
    ]);
    expect(r.err + r.out + JSON.stringify(h.audit())).not.toContain('zapTokenABC987654');
    // In the log, at level warn: off a terminal (cron) the log is JSON, and a plain line would break it.
    const lines = r.err.split('\n').filter((l) => l !== '');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l['msg']).startsWith('notification cycle.failed'))).toMatchObject({ level: 'warn' });
  });

  it('two webhooks on one host are told apart by their place in the config, never by their path', async () => {
    refusedTarget();
    webhooks(
      `    - { url: "${url}/hooks/catch/111/tokenAAA111/", secret: "\${env:HOOK_SECRET}", events: [cycle.failed] }\n` +
        `    - { url: "${url}/hooks/catch/222/tokenBBB222/", secret: "\${env:HOOK_SECRET}", events: [cycle.failed] }\n`,
    );
    answers = [404, 404];
    const r = await h.run();
    expect(r.code).toBe(1);
    expect(received).toHaveLength(2);
    const host = new URL(url).host;
    const notes = h.audit().filter((a) => a['action'] === 'notify.failed').map((a) => a['note']);
    expect(notes.sort()).toEqual([`cycle.failed to webhooks[0] (http://${host}/…): HTTP 404 (not retried)`, `cycle.failed to webhooks[1] (http://${host}/…): HTTP 404 (not retried)`]);
    expect(r.err).toContain(`notification cycle.failed to webhooks[1] (http://${host}/…) not delivered`);
    expect(r.err + r.out + JSON.stringify(h.audit())).not.toMatch(/token(AAA|BBB)/);
  });

  it('a webhook with a name is told by it', async () => {
    refusedTarget();
    webhooks(`    - { url: "${url}/hooks/catch/333/tokenCCC333/", secret: "\${env:HOOK_SECRET}", events: [cycle.failed], name: ops-pager }\n`);
    answers = [404];
    const r = await h.run();
    expect(r.code, r.err).toBe(1);
    const host = new URL(url).host;
    expect(h.audit().filter((a) => a['action'] === 'notify.failed').map((a) => a['note'])).toEqual([`cycle.failed to ops-pager (http://${host}/…): HTTP 404 (not retried)`]);
    expect(r.err).toContain(`notification cycle.failed to ops-pager (http://${host}/…) not delivered`);
    expect(r.err + JSON.stringify(h.audit())).not.toContain('tokenCCC333');
  });

  it('run waits for a delivery tried again before it exits: the alert of a cron run is not cut off', async () => {
    refusedTarget();
    webhooks(`    - { url: "${url}/hook", secret: "\${env:HOOK_SECRET}", events: [cycle.failed] }\n`);
    // The receiver answers 503 first: the delivery is tried again after its pause, then accepted.
    answers = [503];
    const r = await h.run();
    expect(r.code).toBe(1);
    expect(received.map((d) => d.headers['x-scim-sync-event'])).toEqual(['cycle.failed', 'cycle.failed']);
    expect(r.err).not.toContain('not delivered');
    expect(h.audit().filter((a) => a['action'] === 'notify.failed')).toEqual([]);
  });

  it('a safety stop is notified with its reasons, and nothing is written', async () => {
    h.writePeople(Array.from({ length: 10 }, (_, i) => person(i + 1)));
    expect((await h.run()).code).toBe(0);
    webhooks(`    - { url: "${url}/hook", secret: "\${env:HOOK_SECRET}", events: [safety.stop, cycle.failed] }\n`);
    h.writePeople(Array.from({ length: 5 }, (_, i) => person(i + 1)));
    h.sandbox.clearRequests();
    const r = await h.run();
    expect(r.code).toBe(3);
    expect(h.writes()).toEqual([]);
    expect(received).toHaveLength(1);
    const doc = JSON.parse(received[0]!.body) as { event: string; planId: string; summary: string; details: { reasons: string[] } };
    expect(doc.event).toBe('safety.stop');
    expect(doc.details.reasons).toEqual([expect.stringMatching(/^target app: 5 of 10 managed users would be deprovisioned/)]);
    expect(doc.summary).toBe(`scim-sync: the safety check stopped ${doc.planId} before any write: ${doc.details.reasons[0]}`);
    expect(signatureValid(received[0]!.body, received[0]!.headers['x-scim-sync-signature'])).toBe(true);
  });

  it('a safety stop that stages its deprovisions says so too; an emergency deprovision is notified with who and why', async () => {
    h.writePeople(Array.from({ length: 10 }, (_, i) => person(i + 1)));
    expect((await h.run()).code).toBe(0);
    webhooks(`    - { url: "${url}/hook", secret: "\${env:HOOK_SECRET}", events: [staged, deprovision.emergency] }\n`);
    h.writePeople(Array.from({ length: 5 }, (_, i) => person(i + 1)));
    expect((await h.run()).code).toBe(3);
    const staged = JSON.parse(received[0]!.body) as { event: string; details: { stagedId: string; operations: number } };
    expect(staged).toMatchObject({ event: 'staged', details: { operations: 5 } });
    expect(staged.details.stagedId).toMatch(/^st-/);

    h.writePeople(Array.from({ length: 10 }, (_, i) => person(i + 1)));
    const d = await h.cli('deprovision', '--config', h.configFile, '--user', 'E1002', '--reason', 'laptop stolen');
    expect(d.code, d.err + d.out).toBe(0);
    expect(received).toHaveLength(2);
    const emergency = JSON.parse(received[1]!.body) as { event: string; details: { user: string; targets: string[]; reason: string; by: string } };
    expect(emergency).toMatchObject({ event: 'deprovision.emergency', details: { user: 'E1002', targets: ['app'], reason: 'laptop stolen' } });
    expect(emergency.details.by).toMatch(/@/);
    expect(signatureValid(received[1]!.body, received[1]!.headers['x-scim-sync-signature'])).toBe(true);
  });

  it('a webhook URL that carries a credential is refused when the config loads', async () => {
    webhooks(`    - { url: "${url}/hook?token=abc", secret: "\${env:HOOK_SECRET}" }\n`);
    const r = await h.cli('validate', '--config', h.configFile);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/notifications\.webhooks\[0\]\.url \(line \d+\): query parameter "token" carries a credential/);
    expect(received).toEqual([]);
  });
});
