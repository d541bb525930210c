import { SCHEMA_ERROR } from '../model/scim.js';
import type { JsonObject } from '../model/scim.js';

/** scimType values of RFC 7644 §3.12 (Table 9) that this server emits. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/**
 * A failure that maps one-to-one onto a SCIM error response. Everything the sandbox rejects on
 * purpose is thrown as this; anything else escaping a handler is a bug and becomes a 500.
 */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
    /** Extra response headers (Allow on 405, WWW-Authenticate on 401). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  /** Body in the error schema; `status` is a string, as RFC 7644 §3.12 requires. */
  toJSON(): JsonObject {
    const body: JsonObject = { schemas: [SCHEMA_ERROR], status: String(this.status) };
    if (this.scimType) body.scimType = this.scimType;
    body.detail = this.detail;
    return body;
  }
}

export const badRequest = (scimType: ScimType, detail: string): ScimError => new ScimError(400, detail, scimType);
export const notFound = (detail: string): ScimError => new ScimError(404, detail);
