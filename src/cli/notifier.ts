/** The notifier of a command: the config's webhooks, whose failed deliveries go to stderr and the audit log. */
import type { AuditSink } from '../audit/audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import { NO_NOTIFIER, type Notifier } from '../notify/notifier.js';
import { WebhookNotifier, type DeliveryPolicy } from '../notify/webhook-notifier.js';
import { clip } from '../model/printable.js';
import type { Io } from './io.js';

export function commandNotifier(loaded: LoadedConfig, io: Io, audit: AuditSink, policy?: DeliveryPolicy): Notifier {
  const webhooks = loaded.config.notifications.webhooks;
  if (webhooks.length === 0) return NO_NOTIFIER;
  return new WebhookNotifier({
    webhooks,
    ...(policy ? { policy } : {}),
    onFailure: (event, url, why) => {
      const where = webhookLabel(url);
      const reason = why.split(url).join(where);
      io.err(`warning: notification ${event.event} to ${clip(where)} not delivered: ${clip(reason)}`);
      audit.record({
        time: new Date().toISOString(),
        planId: event.planId ?? '-',
        target: event.target ?? '*',
        action: 'notify.failed',
        outcome: 'failed',
        note: `${event.event} to ${where}: ${reason}`,
      });
    },
  });
}

/**
 * A webhook as messages and the log name it: its scheme and host. Catch hooks (Zapier, n8n, Make)
 * carry their credential in the path, so the path is never shown.
 */
export function webhookLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return 'a webhook';
  }
}
