/** `notifications`: webhooks told about what needs a person (safety stops, quarantines, failed cycles). */
import { z } from 'zod';
import { secret } from './secret-field.js';

export const NOTIFICATION_EVENTS = [
  'safety.stop',
  'staged',
  'quarantine.enter',
  'quarantine.exit',
  'cycle.failed',
  'deprovision.emergency',
] as const;

const webhook = z
  .object({
    url: z.url({ protocol: /^https?$/, message: 'an http(s) URL' }).describe('Where the POST goes: https (plain http sends the events unencrypted). No credential in it: it is refused.'),
    secret: secret.describe('Key of the HMAC-SHA256 signature in X-Scim-Sync-Signature. Write ${env:NAME}.'),
    events: z
      .array(z.enum(NOTIFICATION_EVENTS))
      .min(1)
      .default([...NOTIFICATION_EVENTS])
      .describe(`Events this webhook receives. Default all: ${NOTIFICATION_EVENTS.join(', ')}.`),
    format: z.enum(['json', 'slack']).default('json').describe('json (the event as a document) or slack ({ text }, for an incoming webhook). Default json.'),
  })
  .strict();

export const notifications = z
  .object({
    webhooks: z.array(webhook).default([]).describe('Webhooks to notify. Default none.'),
  })
  .strict();
