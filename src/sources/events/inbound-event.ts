/**
 * What every inbound format is read into: who may have changed, and when it takes effect. Nothing
 * else of a payload is kept: the people named are read again from the source, so an event can
 * never put a value into an app.
 */

/** What the sender says happened, for logs and metrics only: the source read decides what to do. */
export type EventKind = 'created' | 'changed' | 'terminated' | 'deleted';

export interface InboundEvent {
  /**
   * The delivery's id, for deduplication: the sender's own (CloudEvents source and id) or, for
   * vendors that send none, one derived from the body's bytes. One delivery may give several
   * events with the same id (a BambooHR batch with different kinds or effective dates).
   */
  readonly id: string;
  /** Source keys named, each once. */
  readonly keys: readonly string[];
  /** When the change takes effect, when the event says; a future one is kept until then. */
  readonly effectiveAt?: Date;
  readonly kind: EventKind;
  /** The sender's event type as it wrote it (employee.updated, Updated...), for logs. */
  readonly type: string;
}

/** What one delivery holds. */
export interface ParsedDelivery {
  readonly events: readonly InboundEvent[];
  /** People the payload mentions but cannot name by the configured key, with why: for the log. */
  readonly skipped: readonly string[];
}

/** A payload we cannot read: the message says what is wrong, quoting only field names, never values. */
export class EventPayloadError extends Error {}
