/**
 * The notifier of a command: the config's webhooks, whose failed deliveries are a warning (text on
 * stderr from a one-shot command, a record of the log from `serve` and `schedule`) and a
 * `notify.failed` record in the audit log.
 */
import type { AuditSink } from '../audit/audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import type { WebhookConfig } from '../config/schema/index.js';
import { NO_NOTIFIER, type NotificationEvent, type Notifier } from '../notify/notifier.js';
import { WebhookNotifier, type DeliveryPolicy } from '../notify/webhook-notifier.js';
import { clip } from '../model/printable.js';
import type { Io } from './io.js';

/** Where a notifier's warnings go: one line, without a "warning:" prefix. */
export type Warn = (line: string) => void;

/** A one-shot command's warnings: text on stderr. */
export const stderrWarning =
  (io: Io): Warn =>
  (line) =>
    io.err(`warning: ${line}`);

export function commandNotifier(loaded: LoadedConfig, warn: Warn, audit: AuditSink, policy?: DeliveryPolicy): Notifier {
  const webhooks = loaded.config.notifications.webhooks;
  if (webhooks.length === 0) return NO_NOTIFIER;
  return new WebhookNotifier({ webhooks, ...(policy ? { policy } : {}), onFailure: failureReport(webhooks, warn, audit) });
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
