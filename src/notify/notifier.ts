/**
 * What scim-sync tells the people who run it, as it happens: the events and the role that sends
 * them. One adapter (webhook-notifier.ts), and a wrapper that delivers in the background for the
 * long-running commands (outbox.ts); commands hold a `Notifier` and never fail because a
 * notification could not be delivered.
 */
import type { NOTIFICATION_EVENTS } from '../config/schema/index.js';

export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number];

export interface NotificationEvent {
  event: NotificationEventType;
  time: string;
  /** One line for a person (the Slack text): what happened, where, and what to do. No secret. */
  summary: string;
  target?: string;
  planId?: string;
  /** Event-specific data (reasons, counts, the quarantine entry). No secret. */
  details?: Record<string, unknown>;
}

export interface Notifier {
  /**
   * Delivers to every webhook that takes this event; resolves when all are delivered or given up
   * (webhook-notifier.ts), or at once with the deliveries queued (outbox.ts). Never rejects.
   */
  notify(event: NotificationEvent): Promise<void>;
}

export const NO_NOTIFIER: Notifier = { notify: async () => undefined };

const now = () => new Date().toISOString();

export function safetyStopEvent(planId: string, reasons: readonly string[], time = now()): NotificationEvent {
  return { event: 'safety.stop', time, planId, summary: `scim-sync: the safety check stopped ${planId} before any write: ${reasons.join('; ')}`, details: { reasons } };
}

/** Held operations saved as a staged change set, waiting for `scim-sync approve ID` or `reject ID`. */
export function stagedEvent(stagedId: string, operations: number, reason: string, time = now()): NotificationEvent {
  return {
    event: 'staged',
    time,
    summary: `scim-sync: ${operations} operation${operations === 1 ? '' : 's'} staged as ${stagedId} (${reason}); review with scim-sync staged, then approve or reject ${stagedId}`,
    details: { stagedId, operations, reason },
  };
}

export function cycleFailedEvent(planId: string, problems: readonly string[], time = now()): NotificationEvent {
  return { event: 'cycle.failed', time, planId, summary: `scim-sync: cycle ${planId} did not do everything it planned: ${problems.join('; ')}`, details: { problems } };
}

/** `scim-sync deprovision`: a person cut off now, in every target, by whom and why. */
export function emergencyDeprovisionEvent(user: string, targets: readonly string[], reason: string, by: string, time = now()): NotificationEvent {
  return {
    event: 'deprovision.emergency',
    time,
    summary: `scim-sync: ${user} deprovisioned now in ${targets.join(', ')} by ${by}: ${reason}`,
    details: { user, targets, reason, by },
  };
}
