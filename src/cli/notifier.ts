/**
 * The notifier of a command: the config's webhooks, whose failed deliveries are a warning and a
 * `notify.failed` record in the audit log. A one-shot command delivers as it goes, so it has
 * delivered (or given up, within the delivery policy) before it exits: cron's alert is not lost. A
 * long-running one (`serve`, `schedule`) delivers in the background (serviceNotifier), so that a
 * webhook that hangs holds up no sync, and closes it before its audit log.
 */
import type { AuditSink } from '../audit/audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import type { WebhookConfig } from '../config/schema/index.js';
import { NO_NOTIFIER, type NotificationEvent, type Notifier } from '../notify/notifier.js';
import { Outbox } from '../notify/outbox.js';
import { DEFAULT_DELIVERY, WebhookNotifier, type DeliveryPolicy } from '../notify/webhook-notifier.js';
import { clip } from '../model/printable.js';
import type { Warn } from './io.js';

export function commandNotifier(loaded: LoadedConfig, warn: Warn, audit: AuditSink, policy?: DeliveryPolicy): Notifier {
  const webhooks = loaded.config.notifications.webhooks;
  if (webhooks.length === 0) return NO_NOTIFIER;
  return new WebhookNotifier({ webhooks, ...(policy ? { policy } : {}), onFailure: failureReport(webhooks, warn, audit) });
}

export interface ServiceNotifier extends Notifier {
  /**
   * Waits for the deliveries queued and under way, at most the policy's total time, then abandons
   * the rest, each a warning and a `notify.failed` record. Call it before the audit log closes.
   */
  close(): Promise<void>;
}

/**
 * A long-running command's notifier: `notify` resolves at once, each webhook's deliveries run in
 * the background from its own bounded queue (notify/outbox.ts), so a webhook that hangs delays
 * neither the caller nor the other webhooks.
 */
export function serviceNotifier(loaded: LoadedConfig, warn: Warn, audit: AuditSink, policy: DeliveryPolicy = DEFAULT_DELIVERY): ServiceNotifier {
  const webhooks = loaded.config.notifications.webhooks;
  const failed = failureReport(webhooks, warn, audit);
  const stop = new AbortController();
  const lanes = webhooks.map((hook) => ({
    hook,
    outbox: new Outbox(new WebhookNotifier({ webhooks: [hook], policy, signal: stop.signal, onFailure: failed }), { onDropped: (event, why) => failed(event, hook, why) }),
  }));
  return {
    notify: (event) => {
      for (const { hook, outbox } of lanes) if (hook.events.includes(event.event)) void outbox.notify(event);
      return Promise.resolve();
    },
    close: async () => {
      await Promise.all(lanes.map(({ outbox }) => outbox.flush(policy.totalMs)));
      stop.abort(new Error(`not delivered before the service stopped (it waited ${policy.totalMs / 1000} s for its notifications)`));
      await Promise.all(lanes.map(({ outbox }) => outbox.idle()));
    },
  };
}

function failureReport(webhooks: readonly WebhookConfig[], warn: Warn, audit: AuditSink) {
  return (event: NotificationEvent, hook: WebhookConfig, why: string): void => {
    const where = webhookLabel(hook, webhooks.indexOf(hook));
    const reason = why.split(hook.url).join(hostLabel(hook.url));
    warn(`notification ${event.event} to ${clip(where)} not delivered: ${clip(reason)}`);
    audit.record({
      time: new Date().toISOString(),
      planId: event.planId ?? '-',
      target: event.target ?? '*',
      action: 'notify.failed',
      outcome: 'failed',
      note: `${event.event} to ${where}: ${reason}`,
    });
  };
}

/**
 * A webhook as messages and the log name it: its name (default its place in the config,
 * `webhooks[1]`), which tells apart two webhooks on one host, and its scheme and host. Catch hooks
 * (Zapier, n8n, Make) carry their credential in the path, so the path is never shown.
 */
export function webhookLabel(hook: Pick<WebhookConfig, 'url' | 'name'>, index: number): string {
  return `${hook.name ?? `webhooks[${index}]`} (${hostLabel(hook.url)})`;
}

function hostLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return 'a webhook';
  }
}
