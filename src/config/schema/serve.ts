/** `serve`: the long-running service (`scim-sync serve`): its HTTP address, change polling and safety window. */
import * as z from 'zod';
import { consoleSettings } from './console.js';

/** host:port, IPv6 in brackets; port 0 asks the OS for a free one (tests). */
const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export const serve = z
  .object({
    listen: z
      .string()
      .regex(LISTEN, 'host:port, e.g. 127.0.0.1:8080 or [::1]:8080')
      .refine((v) => Number(LISTEN.exec(v)?.[2]) <= 65535, { message: 'port above 65535' })
      .default('127.0.0.1:8080')
      .describe(
        'Address of /healthz, /readyz, /metrics and /events/<name>. Default 127.0.0.1:8080 (loopback only): ' +
          'put a TLS-terminating proxy in front before exposing it; inbound events are signed, the console (/ui, serve.console) signs its users in, the rest is read-only.',
      ),
    pollIntervalMs: z
      .number()
      .int()
      .min(500)
      .default(5000)
      .describe('How often each change feed is polled, ms. A file watcher wakes the CSV feed sooner. Default 5000 ms.'),
    reconcileOnStart: z
      .boolean()
      .default(true)
      .describe('Run a full reconcile when the service starts, before waiting for the first cron time. Default true.'),
    safetyWindowMinutes: z
      .number()
      .int()
      .positive()
      .default(60)
      .describe(
        'Deprovisions, creates (and re-activations) and attribute changes applied by change-driven syncs count together over this sliding window against the safety thresholds ' +
          '(maxDeactivatePercent, maxDeactivateCount; maxCreatePercent; maxAttributeChangePercent per attribute), so a burst of leavers, of people back as active, or an attribute cleared a few people at a time, ' +
          'trips them as one cycle would. Default 60 minutes.',
      ),
    maxBatch: z
      .number()
      .int()
      .positive()
      .default(500)
      .describe(
        'Most people synced in one change-driven batch. A request naming more (a feed or a due time naming many) is synced by a full reconcile instead, ' +
          'which lists each target once and judges the change whole, while the change-driven batches go on. Default 500.',
      ),
    maxEventKeys: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe(
        'Most people one inbound event delivery may name change by change (those to sync now, each once). A delivery naming more is still accepted (202), ' +
          'and its people are synced as one request: past maxBatch, by a full reconcile, which lists each target once and judges the change whole. Default 1000.',
      ),
    maxConnections: z
      .number()
      .int()
      .min(16)
      .default(256)
      .describe(
        'Connections serve.listen keeps open at once (health checks, scrapes, inbound events, the console); a connection beyond is closed at once. Each holds a file descriptor, ' +
          "which the service's own work (the source's file, the audit log, its connections to the targets) needs as well: keep the process's limit (systemd LimitNOFILE, ulimit -n) well above it. Default 256.",
      ),
    maxConnectionsPerAddress: z
      .number()
      .int()
      .min(1)
      .default(64)
      .describe(
        'Connections one client address (an IPv6 /64) keeps open at once; beyond, a new one is closed at once, so one client cannot take every connection from the health checks and the HR system. ' +
          'Behind a reverse proxy every request comes from its address: raise this to what the proxy opens. Default 64.',
      ),
    console: consoleSettings
      .optional()
      .describe('The web console under /ui on serve.listen: status, the provisioning log, people, staged changes, quarantine, queues. Default unset: off (/ui answers 404).'),
  })
  .strict()
  .superRefine((s, ctx) => {
    // Tokens and session cookies must not cross a network in clear: off loopback, only behind TLS.
    const host = LISTEN.exec(s.listen)?.[1] ?? '';
    if (s.console && !isLoopback(host) && !s.console.publicUrl?.startsWith('https:')) {
      ctx.addIssue({ code: 'custom', path: ['console', 'publicUrl'], message: `serve.listen ${s.listen} is not a loopback address: the console needs a TLS-terminating proxy in front, named here as an https:// address` });
    }
  });

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine reaches. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
