/**
 * Typed errors. Every error the engine raises carries a stable `code`, says what happens next
 * through its class, and names the target and resource it concerns. No message ever holds a secret:
 * messages are built from config paths, targets, resource keys and server `detail` text only.
 */

export interface ErrorContext {
  /** Target name from the config (`targets.<name>`). */
  target?: string;
  /** The resource concerned: an externalId, userName or SCIM id. */
  resource?: string;
  /** `METHOD /path` of the request that failed (no query secrets: SCIM queries hold none). */
  request?: string;
  /** HTTP status, when the error came from a response. */
  status?: number;
  /** The server's SCIM `detail` (or a bounded excerpt of its body). */
  detail?: string;
}

/** The stable codes, one per class below: what `--json` output and the audit log carry. */
export type ErrorCode =
  | 'TRANSIENT'
  | 'RATE_LIMITED'
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'PRECONDITION_FAILED'
  | 'BAD_REQUEST'
  | 'NOT_STORED'
  | 'DEPENDENCY'
  | 'AUTH'
  | 'PROTOCOL'
  | 'CONFIG'
  | 'SOURCE'
  | 'SAFETY'
  | 'STATE'
  | 'INTERRUPTED'
  | 'STOPPED'
  | 'LOCKED'
  | 'PLAN';

/** Text a request gave, as a message quotes it (see Quoted). */
export interface Asked {
  readonly asked: string;
}

export const asked = (text: string): Asked => ({ asked: text });

/**
 * A message that quotes what it was asked about (a person's key, a staged set's id), each quote
 * kept apart. An answer to that request (the console's) shows a quote as it was sent and passes only
 * the rest through the redactor: run through it whole, a quote would come back "[redacted]" exactly
 * when it is, or continues, a secret, and its sender could read a secret a character at a time.
 */
export class Quoted {
  constructor(readonly parts: readonly (string | Asked)[]) {}

  toString(): string {
    return this.parts.map((p) => (typeof p === 'string' ? p : p.asked)).join('');
  }
}

/** quoting`no staged set ${asked(id)} in ${dir}`: a Quoted message; what `asked` marks is the quote. */
export function quoting(strings: TemplateStringsArray, ...values: readonly (string | number | Asked)[]): Quoted {
  const parts: (string | Asked)[] = [strings[0]!];
  values.forEach((v, i) => parts.push(typeof v === 'object' ? v : String(v), strings[i + 1]!));
  return new Quoted(parts.filter((p) => p !== ''));
}

export abstract class ScimSyncError extends Error {
  abstract readonly code: ErrorCode;
  readonly context: ErrorContext;
  /** The message with its quotes of the request apart, when it quotes one; undefined once the message was changed after. */
  get quoted(): Quoted | undefined {
    return this.#quoted && String(this.#quoted) === this.message ? this.#quoted : undefined;
  }

  readonly #quoted: Quoted | undefined;

  constructor(message: string | Quoted, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(String(message), options);
    this.name = new.target.name;
    this.context = context;
    this.#quoted = message instanceof Quoted ? message : undefined;
  }

  /** Plain-data form for the audit log and `--json` reports. */
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.context };
  }
}

/** Network error, timeout or 5xx: retry with backoff. */
export class TransientError extends ScimSyncError {
  readonly code = 'TRANSIENT';
  /** True when the request may have been committed by the server before it failed (timeout, reset). */
  readonly ambiguous: boolean;
  constructor(message: string, context: ErrorContext, ambiguous: boolean, options?: { cause?: unknown }) {
    super(message, context, options);
    this.ambiguous = ambiguous;
  }
}

/** 429, or 503 with Retry-After: wait what the server asked, then retry. */
export class RateLimitedError extends ScimSyncError {
  readonly code = 'RATE_LIMITED';
  /** Milliseconds the server asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, context: ErrorContext, retryAfterMs: number | undefined, options?: { cause?: unknown }) {
    super(message, context, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** 409 on create: an account with the same unique attribute exists. */
export class ConflictError extends ScimSyncError {
  readonly code = 'CONFLICT';
}

/** 404 on a resource we addressed by id. */
export class NotFoundError extends ScimSyncError {
  readonly code = 'NOT_FOUND';
}

/** 412 on a stale If-Match. */
export class PreconditionFailedError extends ScimSyncError {
  readonly code = 'PRECONDITION_FAILED';
}

/** 400 and other 4xx the request itself caused: fail this operation, go on with the rest. */
export class BadRequestError extends ScimSyncError {
  readonly code = 'BAD_REQUEST';
}

/**
 * The server accepted a write (2xx) but does not keep it, in any PATCH shape tried: reading the
 * resource back shows the old value. Final: an update's change is parked (not sent again while the
 * same); a deactivation fails, and the next run plans it again.
 */
export class NotStoredError extends ScimSyncError {
  readonly code = 'NOT_STORED';
}

/**
 * An operation needs an account or group that does not exist, because creating it failed in this
 * apply (the message names it): the operation is skipped because of it, never a failure of its own.
 */
export class DependencyError extends ScimSyncError {
  readonly code = 'DEPENDENCY';
}

/** 401/403: the credential is wrong or lacks rights; stop this target. */
export class AuthError extends ScimSyncError {
  readonly code = 'AUTH';
}

/** A server answer that is not what SCIM promises (not JSON, no Resources, wrong types). */
export class ProtocolError extends ScimSyncError {
  readonly code = 'PROTOCOL';
}

/** Our own config checks: stop before any write. `problems` lists every issue with its path. */
export class ConfigError extends ScimSyncError {
  readonly code = 'CONFIG';
  readonly problems: readonly string[];
  /** The message without the list of problems. */
  readonly summary: string;
  constructor(message: string | Quoted, problems: readonly string[] = [], options?: { cause?: unknown }) {
    const list = problems.length > 0 ? `\n  - ${problems.join('\n  - ')}` : '';
    super(message instanceof Quoted ? new Quoted([...message.parts, list]) : `${message}${list}`, {}, options);
    this.problems = problems;
    this.summary = String(message);
  }
}

/** The source could not be read completely: never plan from a partial read. */
export class SourceError extends ScimSyncError {
  readonly code = 'SOURCE';
}

/** The safety check refused the plan: stop before any write. */
export class SafetyError extends ScimSyncError {
  readonly code = 'SAFETY';
  readonly reasons: readonly string[];
  /** The staged change set holding the stopped deprovisions (its id), or why none could be saved. */
  readonly staged: { id: string } | { problem: string } | undefined;
  /**
   * A rule about the source read itself fired (minSourceUsers, maxInvalidRecordsPercent): whom the
   * read lacks says nothing about who left, so nothing was staged to approve.
   */
  readonly sourceInDoubt: boolean;
  /** What the operator does next, when the stop is not a run's (an approve refused). */
  private readonly next: string | undefined;
  constructor(
    reasons: readonly string[],
    options?: { cause?: unknown; staged?: { id: string } | { problem: string }; sourceInDoubt?: boolean; next?: string },
  ) {
    super(`safety check stopped the run before any write:\n  - ${reasons.join('\n  - ')}`, {}, options);
    this.reasons = reasons;
    this.staged = options?.staged;
    this.sourceInDoubt = options?.sourceInDoubt ?? false;
    this.next = options?.next;
  }

  /**
   * Where the stop's deprovisions went, or what to do instead, as `run` and a scheduled cycle say
   * it; undefined when none were held.
   */
  get stagedMessage(): string | undefined {
    if (this.next !== undefined) return this.next;
    if (this.sourceInDoubt) {
      return (
        'Nothing was staged to approve: the source read itself is in doubt, not the number of deprovisions. Fix the source ' +
        '(the export, the directory, the account that reads it) and run again; --override-safety applies the plan as it is, ' +
        'deprovisioning everyone the read lacks: use it only if that is really what you mean (the override is audited).'
      );
    }
    const staged = this.staged;
    if (!staged) return undefined;
    return 'id' in staged
      ? `The deprovisions it held are staged as ${staged.id}: scim-sync staged / approve ${staged.id} / reject ${staged.id}`
      : `The deprovisions it held could not be staged: ${staged.problem}`;
  }
}

/** Our own state (link store, lock) is unreadable. */
export class StateError extends ScimSyncError {
  readonly code = 'STATE';
}

/**
 * The operator asked the run to stop (SIGINT, SIGTERM): operations not yet started are skipped,
 * those in flight finish.
 */
export class InterruptedError extends ScimSyncError {
  readonly code = 'INTERRUPTED';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM', options?: { cause?: unknown }) {
    super(`interrupted by ${signal}: operations not started were skipped`, {}, options);
  }
}

/**
 * A request not sent because the work it belongs to was stopped while it waited (for the request
 * budget, a Retry-After, a read's retry) or before it began: the operator's stop, or its target
 * stopped (a refused credential, too many failures in a row). Its operation is skipped, not failed.
 */
export class StoppedError extends ScimSyncError {
  readonly code = 'STOPPED';
}

/** Another run holds the lock on this state directory. */
export class LockedError extends ScimSyncError {
  readonly code = 'LOCKED';
}

/** A plan file that is not one we can apply (wrong version, corrupt). */
export class PlanError extends ScimSyncError {
  readonly code = 'PLAN';
}

/** Errors worth retrying after a delay. */
export function isRetryable(error: unknown): error is TransientError | RateLimitedError {
  return error instanceof TransientError || error instanceof RateLimitedError;
}

/** A one-line description for humans, whatever was thrown. */
export function describeError(error: unknown): string {
  if (error instanceof ScimSyncError) return `[${error.code}] ${error.message}${errorWhere(error)}`;
  return error instanceof Error ? error.message : String(error);
}

/** What describeError adds after the message: " (target crm, resource E1, GET /Users)", or ''. */
export function errorWhere(error: ScimSyncError): string {
  const c = error.context;
  const where = [c.target && `target ${c.target}`, c.resource && `resource ${c.resource}`, c.request].filter(Boolean).join(', ');
  return where ? ` (${where})` : '';
}
