/**
 * The long-running commands' notifier (cli/notifier.ts over notify/outbox.ts), against a real local
 * webhook: `notify` never waits for a delivery, each webhook has its own queue (one that hangs
 * delays no other), a full queue drops its oldest event on the record, and `close` waits for the
 * deliveries no longer than the policy's total time, then gives up on the rest on the record.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';
import { serviceNotifier } from '../../src/cli/notifier.js';
import { loadConfig } from '../../src/config/load.js';
import { cycleFailedEvent } from '../../src/notify/notifier.js';
import type { DeliveryPolicy } from '../../src/notify/webhook-notifier.js';
import { Harness, TOKEN } from '../support/harness.js';

let h: Harness;
let receiver: Server;
let url: string;
/** Paths asked, in order: /hang is never answered, anything else at once. */
let asked: string[];

beforeEach(async () => {
  h = await Harness.start();
  asked = [];
  receiver = createServer((req, res) => {
    asked.push(req.url ?? '');
    req.resume();
    if (req.url !== '/hang') res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  process.env['HOOK_SECRET'] = 'webhook-signing-key-9a3d7e2b';
  process.env['TEST_SCIM_TOKEN'] = TOKEN;
});
afterEach(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await h.close();
});

function notifierFor(paths: string[], policy: DeliveryPolicy) {
  const hooks = paths.map((p) => `    - { url: "${url}${p}", secret: "\${env:HOOK_SECRET}" }\n`).join('');
  writeFileSync(h.configFile, `${readFileSync(h.configFile, 'utf8')}\nnotifications:\n  webhooks:\n${hooks}`);
  const loaded = loadConfig(h.configFile);
  const audit = new JsonlAuditSink(loaded.auditFile, { settings: loaded.config.audit });
  const warnings: string[] = [];
  return { notifier: serviceNotifier(loaded, (line) => warnings.push(line), audit, policy), audit, warnings };
}

/** One try per delivery, whose request waits for an answer far longer than the test. */
const patient: DeliveryPolicy = { attempts: 1, firstDelayMs: 10, totalMs: 300, requestTimeoutMs: 60_000 };

it('never makes the caller wait, drops the oldest when full, and stops waiting at close after the policy\'s total time, each loss recorded', async () => {
  const { notifier, audit, warnings } = notifierFor(['/hang'], patient);
  const started = Date.now();
  // One under way, 50 waiting, and two more: the two oldest waiting are dropped.
  for (let i = 0; i < 53; i++) await notifier.notify(cycleFailedEvent(`plan-${i}`, ['a target could not be read']));
  expect(Date.now() - started).toBeLessThan(1_000);
  await expect.poll(() => asked, { timeout: 5_000 }).toEqual(['/hang']);
  expect(warnings).toEqual([
    expect.stringMatching(/^notification cycle\.failed to webhooks\[0\] \(http:\/\/127\.0\.0\.1:\d+\/…\) not delivered: dropped unsent: 50 newer notifications were waiting behind it$/),
    expect.stringMatching(/dropped unsent/),
  ]);

  const closing = Date.now();
  await notifier.close();
  expect(Date.now() - closing).toBeLessThan(patient.totalMs + 2_000);
  await audit.close();
  const failed = h.audit().filter((r) => r['action'] === 'notify.failed');
  expect(failed).toHaveLength(53);
  expect(failed.slice(0, 2).map((r) => r['planId'])).toEqual(['plan-1', 'plan-2']);
  // The one under way is cut off, the others are never sent.
  expect(failed[2]).toMatchObject({ planId: 'plan-0', note: expect.stringMatching(/^cycle\.failed to webhooks\[0\] \(http:\/\/127\.0\.0\.1:\d+\/…\): not delivered before the service stopped/) });
  expect(failed.slice(3).map((r) => r['planId'])).toEqual(Array.from({ length: 50 }, (_, i) => `plan-${i + 3}`));
  expect(asked).toEqual(['/hang']);
});

it('a webhook that hangs delays no other webhook\'s deliveries', async () => {
  const { notifier, audit } = notifierFor(['/hang', '/ok'], patient);
  await notifier.notify(cycleFailedEvent('plan-1', ['x']));
  await notifier.notify(cycleFailedEvent('plan-2', ['y']));
  await expect.poll(() => asked.filter((p) => p === '/ok'), { timeout: 5_000 }).toHaveLength(2);
  expect(asked.filter((p) => p === '/hang')).toHaveLength(1);
  await notifier.close();
  await audit.close();
  expect(h.audit().filter((r) => r['action'] === 'notify.failed').map((r) => r['planId'])).toEqual(['plan-1', 'plan-2']);
});
