/** `notifications`: webhooks told about what needs a person (safety stops, quarantines, failed cycles). */
import * as z from 'zod';
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
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" and "-" (1-64 characters)')
      .optional()
      .describe(
        'How warnings and the provisioning log name this webhook, with its scheme and host (never its path or query: a catch hook keeps its credential there). ' +
          'Default its place in the list: webhooks[0], webhooks[1], ...',
      ),
  })
  .strict();

export const notifications = z
  .object({
    webhooks: z
      .array(webhook)
      .default([])
      .superRefine((hooks, ctx) => {
        const seen = new Set<string>();
        hooks.forEach((h, i) => {
          if (h.name === undefined) return;
          if (seen.has(h.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `another webhook is named ${h.name}: a name tells webhooks apart` });
          seen.add(h.name);
        });
      })
      .describe('Webhooks to notify. Default none.'),
  })
  .strict();
