/**
 * HTTP outcome -> typed error: the one place a status code decides what happens next. Text from the
 * server (its `detail`, a body excerpt, a Location) passes the redactor here, as it enters: a
 * server may echo the credential it was sent.
 */
import { redact } from '../../config/secret.js';
import {
  AuthError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  ProtocolError,
  RateLimitedError,
  TransientError,
  type ErrorContext,
  type ScimSyncError,
} from '../../errors.js';
import { SCHEMA_ERROR, type JsonObject } from '../../model/scim.js';
import { ResponseTooLargeError, TransportError } from './transport.js';

/** Longest piece of a response body quoted in an error. */
const EXCERPT = 300;

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/**
 * The three forms of an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, the obsolete RFC 850 form and
 * asctime. Checked before Date.parse, which also takes "-5", "1.5" or "+5" for dates.
 */
const HTTP_DATE = new RegExp(
  `^(?:${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT|${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4})$`,
);

/**
 * Retry-After is delay-seconds (1*DIGIT) or an HTTP-date (RFC 9110 §10.2.3); anything else ("-5",
 * "1.5", a date in another format) is ignored, and the retry falls back to our own backoff.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!HTTP_DATE.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The server's own explanation: SCIM `detail`, else a bounded excerpt of the body. */
export function serverDetail(body: string): string | undefined {
  if (!body) return undefined;
  // Before the excerpt is cut (half a secret would escape), and after parsing (JSON escapes hide one).
  const text = quoteOf(redact(body));
  return text === undefined ? undefined : excerpt(redact(text), DETAIL_MAX);
}

/**
 * Longest server explanation kept: a SCIM detail can list several problems, but one a hostile or
 * broken server makes megabytes long would otherwise go whole into every failed operation's audit
 * record, the parked reasons and the notices.
 */
const DETAIL_MAX = 1000;

function excerpt(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function quoteOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const detail = parsed['detail'] ?? parsed['message'] ?? parsed['error_description'] ?? parsed['error'];
    const scimType = typeof parsed['scimType'] === 'string' ? ` (scimType ${excerpt(parsed['scimType'], 40)})` : '';
    if (typeof detail === 'string') return `${detail}${scimType}`;
  } catch {
    // Not JSON: quote it.
  }
  return excerpt(body.replace(/\s+/g, ' ').trim(), EXCERPT);
}

/** scimType values (RFC 7644 §3.12) that describe the request, not the server's state. */
const FINAL_SCIM_TYPES = new Set(['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'invalidVers', 'sensitive']);

function scimTypeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown> | null;
    return typeof parsed?.['scimType'] === 'string' ? parsed['scimType'] : undefined;
  } catch {
    return undefined;
  }
}

export function errorForStatus(status: number, headers: Record<string, string | string[] | undefined>, body: string, ctx: ErrorContext): ScimSyncError {
  const detail = serverDetail(body);
  const context: ErrorContext = { ...ctx, status, ...(detail ? { detail } : {}) };
  const said = detail ? `: ${detail}` : '';
  if (status >= 300 && status < 400) {
    const location = headers['location'];
    const to = typeof location === 'string' && location !== '' ? ` to ${redact(location)}` : ' (no Location)';
    return new ProtocolError(
      `the server redirected (HTTP ${status})${to}; redirects are not followed (a SCIM API does not redirect, and the credential must not ` +
        "follow it to another address): set the target's url to the final address",
      context,
    );
  }
  const retryAfterHeader = headers['retry-after'];
  const retryAfter = parseRetryAfter(Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader);
  if (status === 429 || (status === 503 && retryAfter !== undefined)) {
    return new RateLimitedError(`rate limited (HTTP ${status})${said}`, context, retryAfter);
  }
  if (status === 401) return new AuthError(`credential rejected (HTTP 401)${said}; check the target's auth settings`, context);
  if (status === 403) return new AuthError(`credential lacks permission (HTTP 403)${said}`, context);
  if (status === 404) return new NotFoundError(`not found (HTTP 404)${said}`, context);
  if (status === 409) return new ConflictError(`conflict (HTTP 409)${said}`, context);
  if (status === 412) return new PreconditionFailedError(`resource changed since it was read (HTTP 412)${said}`, context);
  const scimType = scimTypeOf(body);
  if (status >= 500 && scimType !== undefined && FINAL_SCIM_TYPES.has(scimType)) {
    // The server says what is wrong with this request (RFC 7644 §3.12): sending it again cannot help.
    return new BadRequestError(`server error (HTTP ${status}) that the server marks final (scimType ${scimType})${said}`, context);
  }
  if (status === 408 || (status >= 500 && status !== 501)) return new TransientError(`server error (HTTP ${status})${said}`, context, true);
  if (status >= 400) return new BadRequestError(`request refused (HTTP ${status})${said}`, context);
  return new ProtocolError(`unexpected HTTP ${status}${said}`, context);
}

/**
 * A success status whose body is a SCIM Error (RFC 7644 §3.12) all the same: some gateways answer
 * 200 and put the real outcome in the body. Believing the status would report a refused change as
 * made. The error is the one the status the body names would give (its `status`, a string in the
 * RFC, a number from some servers); a body marked as an Error without a usable status is not
 * understood at all. Undefined for a body that is no error. `text`: the body as text, asked for only
 * when it is an error (a large page is parsed from its bytes and never decoded whole).
 */
export function errorInBody(status: number, headers: Record<string, string | string[] | undefined>, body: JsonObject, text: () => string, ctx: ErrorContext): ScimSyncError | undefined {
  const schemas = body['schemas'];
  const marked = Array.isArray(schemas) && schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA_ERROR.toLowerCase());
  const said = typeof body['status'] === 'string' && /^\s*\d{3}\s*$/.test(body['status']) ? Number(body['status']) : typeof body['status'] === 'number' ? body['status'] : NaN;
  const named = Number.isInteger(said) && said >= 400 && said < 600 ? said : undefined;
  if (named !== undefined) {
    const error = errorForStatus(named, headers, text(), ctx);
    error.message = `${error.message}, answered as HTTP ${status}`;
    return error;
  }
  if (!marked) return undefined;
  const detail = serverDetail(text());
  return new ProtocolError(`the server answered HTTP ${status} with a SCIM Error that names no error status${detail ? `: ${detail}` : ''}`, { ...ctx, status, ...(detail ? { detail } : {}) });
}

/**
 * TLS failures that retrying cannot fix: the server's certificate is not trusted, or it refused
 * ours. Node's codes for certificate verification and TLS alerts.
 */
const TLS_SETTINGS = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_SSL_|ERR_TLS_|EPROTO/;

/** `host:port` of a URL, the port spelt out even when it is the scheme's default. */
function hostAndPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Errors with no response, naming the address (`url`: where the request went). `ambiguous`: the
 * server may have acted on the request before it failed.
 */
export function errorForNetwork(error: Error & { code?: string; proxy?: string; proxyStatus?: number }, ctx: ErrorContext, url: string): TransientError | ProtocolError {
  const code = error.code ?? 'ERROR';
  const address = hostAndPort(url);
  if (error.proxy) {
    const proxied = errorThroughProxy(error.proxy, code, error.proxyStatus, address, ctx, error);
    if (proxied) return proxied;
  }
  if (TLS_SETTINGS.test(code)) {
    const hint = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/.test(code)
      ? 'the server refused our client certificate (tls.cert, tls.key)'
      : /CERT|SELF_SIGNED|UNABLE_TO/.test(code)
        ? "the server's certificate is not trusted (tls.ca)"
        : "check the target's tls settings";
    return new ProtocolError(`TLS handshake with ${address} failed (${code}): ${hint}`, ctx, { cause: error });
  }
  // The server answered, in a form we cannot read: asked again, it answers the same way.
  if (code === 'EUNSUPPORTEDENCODING') return new ProtocolError(`${error.message} (the answer from ${address})`, ctx, { cause: error });
  // zlib's codes (Z_DATA_ERROR...) and brotli's (ERR__ERROR_FORMAT_...): an answer cut or garbled on the way may come whole next time.
  if (code.startsWith('Z_') || code.startsWith('ERR__ERROR_')) {
    return new TransientError(`the answer from ${address} could not be decompressed (${code}: ${error.message})`, ctx, true, { cause: error });
  }
  const notSent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  const what = notSent
    ? `cannot connect to ${address} (${code}${code === 'ENOTFOUND' ? ': no such host' : ''})`
    : code === 'ETIMEDOUT'
      ? `no answer from ${address} in time (ETIMEDOUT; timeoutMs)`
      : `connection to ${address} failed (${code})`;
  return new TransientError(what, ctx, !notSent, { cause: error });
}

/**
 * A failure that is the proxy's, not the target's: the connection that failed was to the proxy, or
 * the proxy refused the tunnel. A refusal for credentials (407) or by its rules (another 4xx) is
 * final: asked again, it refuses again, and each try sends the proxy's credentials once more
 * (account lockouts). A proxy that could not reach the target (5xx) may later.
 */
function errorThroughProxy(proxy: string, code: string, status: number | undefined, address: string, ctx: ErrorContext, cause: Error): TransientError | ProtocolError | undefined {
  const env = 'HTTPS_PROXY / HTTP_PROXY / NO_PROXY';
  if (code === 'EPROXY' && status !== undefined) {
    if (status === 407) return new ProtocolError(`the proxy ${proxy} refused the tunnel to ${address}: 407 Proxy Authentication Required (check the proxy's credentials in ${env})`, { ...ctx, status }, { cause });
    if (status < 500) return new ProtocolError(`the proxy ${proxy} refused the tunnel to ${address} (${status}): its rules may not allow this host (${env})`, { ...ctx, status }, { cause });
    return new TransientError(`the proxy ${proxy} could not reach ${address} (${status})`, { ...ctx, status }, false, { cause });
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new TransientError(`cannot connect to the proxy ${proxy} (${code}; ${env})`, ctx, false, { cause });
  return undefined;
}

/**
 * A body past the target's maxResponseBytes: not SCIM data but a server gone wrong, and a retry
 * would read it again.
 */
export function errorForOversize(limit: number, ctx: ErrorContext): ProtocolError {
  return new ProtocolError(`answer larger than ${limit} bytes: the request was abandoned (maxResponseBytes)`, ctx);
}

/** What the transport threw, as a typed error (`url`: where the request went); anything else as it was. */
export function errorForTransport(error: unknown, ctx: ErrorContext, url: string): unknown {
  if (error instanceof ResponseTooLargeError) return errorForOversize(error.limit, ctx);
  if (error instanceof TransportError) return errorForNetwork(error, ctx, url);
  return error;
}

/**
 * An OAuth 2.0 token endpoint's refusal (RFC 6749 §5.2: invalid_client, invalid_grant,
 * invalid_scope answer 400 or 401) means the credential or its settings are wrong: an auth error,
 * not a bad request. Overload and outages stay retryable.
 */
export function errorForTokenStatus(status: number, headers: Record<string, string | string[] | undefined>, body: string, ctx: ErrorContext): ScimSyncError {
  if (status === 429 || status >= 500 || (status >= 300 && status < 400)) return errorForStatus(status, headers, body, ctx);
  const detail = serverDetail(body);
  return new AuthError(`OAuth token request refused (HTTP ${status})${detail ? `: ${detail}` : ''}; check auth.clientId, auth.clientSecret and auth.scope`, {
    ...ctx,
    status,
    ...(detail ? { detail } : {}),
  });
}
