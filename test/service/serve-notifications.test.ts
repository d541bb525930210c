/**
 * Notifications of `scim-sync serve`, to a real local webhook: one that never answers holds up no
 * leaver (the fast lane goes on while the deliveries wait in the background, and the service's stop
 * waits for them only so long), and a delivery given up is a JSON log line under
 * `--log-format json`, not plain text in the middle of the stream.
 */
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { serveCommand } from '../../src/cli/serve-command.js';
import { CliProcess } from '../support/cli-process.js';
import { Harness, person, TOKEN } from '../support/harness.js';

const BAMBOO_KEY = 'bamboo-key-7d2e9c4b1a';
const HOOK_SECRET = 'webhook-signing-key-1c8e5f3a';
const people = Array.from({ length: 20 }, (_, i) => person(i + 1));

let h: Harness | undefined;
let receiver: Server | undefined;
let cleanup: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  // The receiver first: a delivery still waiting on it then ends, and the service with it.
  receiver?.closeAllConnections();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  await cleanup?.();
  await h?.close();
  h = receiver = cleanup = undefined;
});

/** A webhook on a free port: `answer` is told each request (its event header) and answers it, or not. */
async function webhook(answer: (event: string, res: import('node:http').ServerResponse) => void): Promise<string> {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(String(req.headers['x-scim-sync-event']), res));
  });
  await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
}

function addWebhooks(yaml: string): void {
  process.env['HOOK_SECRET'] = HOOK_SECRET;
  writeFileSync(h!.configFile, `${readFileSync(h!.configFile, 'utf8')}\nnotifications:\n  webhooks:\n${yaml}`);
}

/** Lines written so far, and a wait for the first that matches (rejecting after `timeoutMs`). */
class Lines {
  readonly all: string[] = [];
  private waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  readonly io = { out: (l: string) => this.push(l), err: (l: string) => this.push(l) };

  private push(line: string): void {
    this.all.push(line);
    this.waiting = this.waiting.filter((w) => !(w.pattern.test(line) && (w.resolve(line), true)));
  }

  next(pattern: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.all.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line ${pattern} within ${timeoutMs} ms:\n${this.all.join('\n')}`)), timeoutMs);
      this.waiting.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }
}

function bambooEvent(employeeId: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ type: 'employee.updated', timestamp: new Date().toISOString(), data: { companyId: '1', employeeId, changedFields: ['status'] } });
  const ts = String(Math.floor(Date.now() / 1000));
  return { body, headers: { 'content-type': 'application/json', 'X-BambooHR-Timestamp': ts, 'X-BambooHR-Signature': createHmac('sha256', BAMBOO_KEY).update(body + ts).digest('hex') } };
}

it('a webhook that never answers holds up no leaver: the stopped batch ends at once, the next leaver is applied, and the stop waits for the deliveries only so long', async () => {
  process.env['TEST_BAMBOO_KEY'] = BAMBOO_KEY;
  h = await Harness.synced(people, { top: `events:\n  bamboo: { format: bamboohr, secret: "\${env:TEST_BAMBOO_KEY}" }\n` });
  // Events only: the file watcher would ask for full cycles of its own on the CSV edits below.
  h.writeConfig('', '', '  changes: { enabled: false }');
  const asked: string[] = [];
  const url = await webhook((event) => void asked.push(event));
  addWebhooks(`    - { url: "${url}/hook", secret: "\${env:HOOK_SECRET}" }\n`);

  const lines = new Lines();
  let stop!: () => void;
  process.env['TEST_SCIM_TOKEN'] = TOKEN;
  const exited = serveCommand({ config: h.configFile, listen: '127.0.0.1:0' }, lines.io, new Promise<void>((resolve) => (stop = resolve)));
  cleanup = async () => (stop(), await exited);
  const serving = await lines.next(/serving on (http:\/\/127\.0\.0\.1:\d+)/, 20_000);
  const base = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(serving)![1]!;
  await lines.next(/cycle: plan-\S+ applied/, 20_000);
  const post = async (id: string) => {
    const { body, headers } = bambooEvent(id);
    const res = await fetch(`${base}/events/bamboo`, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) });
    expect(res.status, await res.text()).toBe(202);
  };

  // Half an export: E1015 is missing from it, so the batch is stopped by the safety check (staging
  // nothing: the read is in doubt), which notifies a webhook that never answers. One delivery alone
  // may take 15 s and more.
  h.writePeople(people.slice(0, 10));
  await post('E1015');
  await lines.next(/change-driven sync of 1 person stopped by the safety check: .*incomplete export/, 5_000);
  await expect.poll(() => asked, { timeout: 5_000 }).toContain('safety.stop');

  // The export whole again, with a leaver: applied while the webhook still has not answered.
  h.writePeople(people.map((p) => (p.id === 'E1004' ? { ...p, status: 'terminated' } : p)));
  h.sandbox.clearRequests();
  await post('E1004');
  const leaver = () => h!.sandbox.store.findUserByUserName('user4@example.com')?.['active'];
  await expect.poll(leaver, { timeout: 5_000 }).toBe(false);
  expect(h.writes().map((w) => w.method)).toEqual(['PATCH']);
  expect(h.sandbox.store.findUserByUserName('user15@example.com')?.['active']).toBe(true);
  // Still on its first event (tried again, perhaps).
  expect(new Set(asked)).toEqual(new Set(['safety.stop']));

  // The stop waits for the deliveries the policy's 15 s at most, then gives up on them, on the record.
  const stopping = Date.now();
  stop();
  expect(await exited).toBe(0);
  expect(Date.now() - stopping).toBeLessThan(20_000);
  const failed = h.audit().filter((r) => r['action'] === 'notify.failed');
  expect(failed.map((r) => String(r['note']).split(' ')[0])).toEqual(['safety.stop']);
  expect(failed.at(-1)?.['note']).toMatch(/^safety\.stop to webhooks\[0\] \(http:\/\/127\.0\.0\.1:\d+\/…\): not delivered before the service stopped/);
  expect(lines.all.join('\n')).toMatch(/notification safety\.stop to webhooks\[0\] \(http:\/\/127\.0\.0\.1:\d+\/…\) not delivered: not delivered before the service stopped/);
}, 60_000);

it('with --log-format json, a notification not delivered is a JSON log line (level warn) that names the webhook, not plain text on stderr', async () => {
  h = await Harness.start();
  h.writePeople([person(1), person(2)]);
  // A target whose credential the sandbox refuses: the start-up cycle quarantines it and fails, and says so.
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('targets:\n', `targets:\n  crm:\n    url: ${h.sandbox.url}\n    auth: { type: bearer, token: "\${env:CRM_TOKEN}" }\n`));
  process.env['CRM_TOKEN'] = 'not-the-crm-token-5d0a77';
  const url = await webhook((_event, res) => void res.writeHead(404).end());
  addWebhooks(`    - { url: "${url}/hooks/catch/123456/zapTokenABC987654/", secret: "\${env:HOOK_SECRET}", events: [cycle.failed] }\n`);
  const serve = new CliProcess(['--log-format', 'json', 'serve', '--config', h.configFile, '--listen', '127.0.0.1:0']);
  cleanup = async () => (serve.kill('SIGTERM'), await serve.exited);
  let exit;
  try {
    await serve.waitFor(/notification cycle\.failed .*not delivered[^\n]*\n/);
  } finally {
    serve.kill('SIGTERM');
    exit = await serve.exited;
  }
  expect(exit.code, exit.err).toBe(0);
  const stderr = exit.err.trim().split('\n');
  // Every line of the stream is a JSON record, the warning among them.
  const records = stderr.map((line) => JSON.parse(line) as Record<string, unknown>);
  const host = new URL(url).host;
  expect(records.filter((r) => String(r['msg']).startsWith('notification'))).toEqual([
    expect.objectContaining({ level: 'warn', msg: `notification cycle.failed to webhooks[0] (http://${host}/…) not delivered: HTTP 404 (not retried)` }),
  ]);
  expect(exit.err + exit.out).not.toContain('zapTokenABC987654');
}, 60_000);
