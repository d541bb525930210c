/** Delivery ids for vendors that send none. Pure. */
import { createHash } from 'node:crypto';

/**
 * The id of a delivery whose payload has no id of its own (BambooHR, HiBob, Personio): the SHA-256
 * of its raw bytes. A retry sends the same bytes, so it is found as a duplicate; two real changes
 * differ at least in the time each payload carries.
 */
export function bodyId(format: string, rawBody: Buffer): string {
  return `${format}:sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
}

/** A sender's id, bounded: one longer than this is replaced by its hash (it is only compared). */
export function boundedId(id: string): string {
  return id.length <= 200 ? id : `sha256:${createHash('sha256').update(id).digest('hex')}`;
}
