/**
 * The HTTP adapter of `Notifier`: a POST per webhook that takes the event, signed with the
 * webhook's secret (X-Scim-Sync-Signature: sha256=HMAC of the raw body), retried on 5xx and network
 * errors within a bounded number of attempts and time. A delivery that fails is told to `onFailure`
 * (a warning and the audit log) and never fails the run. TLS is verified (node's default).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebhookConfig } from '../config/schema/index.js';
import { redact } from '../config/secret.js';
import type { NotificationEvent, Notifier } from './notifier.js';

export interface DeliveryPolicy {
  /** Tries per delivery, the first included. */
  attempts: number;
  /** Wait before the second try; doubles for each later one. */
  firstDelayMs: number;
  /** A delivery gives up when its next try would start after this long. */
  totalMs: number;
  /** One request's timeout. */
  requestTimeoutMs: number;
}

export const DEFAULT_DELIVERY: DeliveryPolicy = { attempts: 4, firstDelayMs: 500, totalMs: 15_000, requestTimeoutMs: 5_000 };

export interface WebhookNotifierOptions {
  webhooks: readonly WebhookConfig[];
  /** A delivery given up: to which of `webhooks` (whose URL is never shown whole: a catch hook's path is its credential) and why. */
  onFailure: (event: NotificationEvent, webhook: WebhookConfig, why: string) => void;
  policy?: DeliveryPolicy;
  /**
   * Once aborted, a delivery under way ends at once and any later one is not tried, each told to
   * `onFailure` with the abort's reason (a service stopping that has waited long enough).
   */
  signal?: AbortSignal;
}

/** The body a webhook receives: the event with a delivery id, or Slack's `{ text }`. Passed through the redactor. */
export function webhookBody(event: NotificationEvent, format: WebhookConfig['format'], deliveryId: string): string {
  const doc = format === 'slack' ? { text: event.summary } : { id: deliveryId, ...event };
  return redact(JSON.stringify(doc));
}

export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** The answer's status, or the network error's message. */
function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, stop: AbortSignal | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    // `timeout` is the socket's idle time; the signal bounds the whole request (a trickling server).
    const bound = AbortSignal.timeout(timeoutMs);
    const options = { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: timeoutMs, signal: stop ? AbortSignal.any([bound, stop]) : bound };
    const req = send(url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Why a delivery was abandoned: the reason the signal was aborted with. */
const abandoned = (signal: AbortSignal): string => (signal.reason instanceof Error ? signal.reason.message : 'abandoned');

export class WebhookNotifier implements Notifier {
  private readonly policy: DeliveryPolicy;

  constructor(private readonly options: WebhookNotifierOptions) {
    this.policy = options.policy ?? DEFAULT_DELIVERY;
  }

  async notify(event: NotificationEvent): Promise<void> {
    const hooks = this.options.webhooks.filter((w) => w.events.includes(event.event));
    await Promise.all(
      hooks.map(async (hook) => {
        const why = await this.deliver(hook, event);
        if (why) this.options.onFailure(event, hook, redact(why));
      }),
    );
  }

  /** Undefined once delivered; else why it was given up. */
  private async deliver(hook: WebhookConfig, event: NotificationEvent): Promise<string | undefined> {
    const id = randomUUID();
    const body = webhookBody(event, hook.format, id);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'scim-sync',
      'x-scim-sync-event': event.event,
      'x-scim-sync-delivery': id,
      'x-scim-sync-timestamp': String(Math.floor(Date.now() / 1000)),
      'x-scim-sync-signature': signature(body, hook.secret.reveal()),
    };
    const started = Date.now();
    const stop = this.options.signal;
    let delay = this.policy.firstDelayMs;
    let last = '';
    for (let attempt = 1; attempt <= this.policy.attempts; attempt++) {
      if (stop?.aborted) break;
      try {
        const status = await post(hook.url, body, headers, this.policy.requestTimeoutMs, stop);
        if (status >= 200 && status < 300) return undefined;
        last = `HTTP ${status}`;
        if (status < 500) return `${last} (not retried)`;
      } catch (error) {
        // A request cut short by the stop says nothing about the webhook.
        if (!stop?.aborted) last = (error as Error).message;
      }
      if (attempt === this.policy.attempts || Date.now() - started + delay > this.policy.totalMs) break;
      await sleep(delay, undefined, stop ? { signal: stop } : {}).catch(() => undefined);
      delay *= 2;
    }
    if (stop?.aborted) return last ? `${abandoned(stop)} (last try: ${last})` : abandoned(stop);
    return `${last} after ${Math.round((Date.now() - started) / 100) / 10} s`;
  }
}
