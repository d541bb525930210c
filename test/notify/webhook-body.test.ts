/** What a webhook receives, built without a network: the body per format, its signature, and no secret in it. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { emergencyDeprovisionEvent, stagedEvent } from '../../src/notify/notifier.js';
import { signature, webhookBody } from '../../src/notify/webhook-notifier.js';

const TIME = '2026-01-01T00:00:00.000Z';

describe('webhook bodies', () => {
  it('json: the event with its delivery id; slack: only its summary as text', () => {
    const event = stagedEvent('staged-1', 12, 'the safety check stopped the run', TIME);
    expect(JSON.parse(webhookBody(event, 'json', 'd-1'))).toEqual({
      id: 'd-1',
      event: 'staged',
      time: TIME,
      summary: 'scim-sync: 12 operations staged as staged-1 (the safety check stopped the run); review with scim-sync staged, then approve or reject staged-1',
      details: { stagedId: 'staged-1', operations: 12, reason: 'the safety check stopped the run' },
    });
    expect(JSON.parse(webhookBody(event, 'slack', 'd-1'))).toEqual({ text: event.summary });
  });

  it('a secret quoted by server text in an event is redacted in every format', () => {
    const secret = new Secret('quoted-Cr3d/+=value', 'env:TEST');
    const event = emergencyDeprovisionEvent('E1001', ['app'], `server said token ${secret.reveal()}`, 'ops@host', TIME);
    for (const format of ['json', 'slack'] as const) {
      const body = webhookBody(event, format, 'd-2');
      expect(body).not.toContain(secret.reveal());
      expect(body).toContain('server said token [redacted]');
    }
  });

  it('signs the raw body with HMAC-SHA256', () => {
    const body = '{"a":1}';
    expect(signature(body, 'k-12345678')).toBe(`sha256=${createHmac('sha256', 'k-12345678').update(body).digest('hex')}`);
    expect(signature(`${body} `, 'k-12345678')).not.toBe(signature(body, 'k-12345678'));
  });
});
