/**
 * HTTP outcome -> typed error, as a table: status, headers and body in; class, code, message and
 * context out. Network and token-endpoint failures too.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerSecret } from '../../src/config/secret.js';
import {
  AuthError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  ProtocolError,
  RateLimitedError,
  TransientError,
  type ScimSyncError,
} from '../../src/errors.js';
import { errorForNetwork, errorForStatus, errorForTokenStatus, errorInBody, parseRetryAfter, serverDetail } from '../../src/targets/http/error-mapping.js';
import { DEFAULT_RETRY_POLICY, retryDelay } from '../../src/targets/http/retry-policy.js';

const CTX = { target: 'app', resource: 'E1001', request: 'POST /Users' };
const scimError = (status: number, detail: string, scimType?: string) =>
  JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail, ...(scimType ? { scimType } : {}) });

type Class = abstract new (...args: never[]) => ScimSyncError;

interface StatusCase {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  is: Class;
  code: string;
  message: string;
  detail?: string;
  retryAfterMs?: number;
  ambiguous?: boolean;
}

const statusCases: StatusCase[] = [
  {
    status: 400,
    body: scimError(400, 'userName is required', 'invalidValue'),
    is: BadRequestError,
    code: 'BAD_REQUEST',
    message: 'request refused (HTTP 400): userName is required (scimType invalidValue)',
    detail: 'userName is required (scimType invalidValue)',
  },
  { status: 422, body: '{"message":"bad email"}', is: BadRequestError, code: 'BAD_REQUEST', message: 'request refused (HTTP 422): bad email', detail: 'bad email' },
  { status: 501, is: BadRequestError, code: 'BAD_REQUEST', message: 'request refused (HTTP 501)' },
  { status: 401, is: AuthError, code: 'AUTH', message: "credential rejected (HTTP 401); check the target's auth settings" },
  {
    status: 401,
    body: '{"error":"invalid_token"}',
    is: AuthError,
    code: 'AUTH',
    message: "credential rejected (HTTP 401): invalid_token; check the target's auth settings",
    detail: 'invalid_token',
  },
  {
    status: 403,
    body: scimError(403, 'scope users:write missing'),
    is: AuthError,
    code: 'AUTH',
    message: 'credential lacks permission (HTTP 403): scope users:write missing',
    detail: 'scope users:write missing',
  },
  { status: 404, body: scimError(404, 'User u9 not found'), is: NotFoundError, code: 'NOT_FOUND', message: 'not found (HTTP 404): User u9 not found', detail: 'User u9 not found' },
  {
    status: 409,
    body: scimError(409, 'userName taken', 'uniqueness'),
    is: ConflictError,
    code: 'CONFLICT',
    message: 'conflict (HTTP 409): userName taken (scimType uniqueness)',
    detail: 'userName taken (scimType uniqueness)',
  },
  { status: 412, is: PreconditionFailedError, code: 'PRECONDITION_FAILED', message: 'resource changed since it was read (HTTP 412)' },
  { status: 429, headers: { 'retry-after': '7' }, is: RateLimitedError, code: 'RATE_LIMITED', message: 'rate limited (HTTP 429)', retryAfterMs: 7000 },
  { status: 429, headers: { 'retry-after': 'soon' }, is: RateLimitedError, code: 'RATE_LIMITED', message: 'rate limited (HTTP 429)', retryAfterMs: undefined },
  { status: 429, body: 'slow down', is: RateLimitedError, code: 'RATE_LIMITED', message: 'rate limited (HTTP 429): slow down', detail: 'slow down', retryAfterMs: undefined },
  { status: 503, headers: { 'retry-after': '0' }, is: RateLimitedError, code: 'RATE_LIMITED', message: 'rate limited (HTTP 503)', retryAfterMs: 0 },
  { status: 503, is: TransientError, code: 'TRANSIENT', message: 'server error (HTTP 503)', ambiguous: true },
  { status: 500, body: '<html>\n  <b>Oops</b>\n</html>', is: TransientError, code: 'TRANSIENT', message: 'server error (HTTP 500): <html> <b>Oops</b> </html>', detail: '<html> <b>Oops</b> </html>', ambiguous: true },
  { status: 408, is: TransientError, code: 'TRANSIENT', message: 'server error (HTTP 408)', ambiguous: true },
  {
    status: 302,
    headers: { location: 'https://login.example.com/' },
    is: ProtocolError,
    code: 'PROTOCOL',
    message:
      "the server redirected (HTTP 302) to https://login.example.com/; redirects are not followed (a SCIM API does not redirect, and the credential must not follow it to another address): set the target's url to the final address",
  },
  {
    status: 301,
    is: ProtocolError,
    code: 'PROTOCOL',
    message:
      "the server redirected (HTTP 301) (no Location); redirects are not followed (a SCIM API does not redirect, and the credential must not follow it to another address): set the target's url to the final address",
  },
  { status: 204, is: ProtocolError, code: 'PROTOCOL', message: 'unexpected HTTP 204' },
];

describe('errorForStatus', () => {
  it.each(statusCases)('HTTP $status $headers -> $code: $message', (c) => {
    const error = errorForStatus(c.status, c.headers ?? {}, c.body ?? '', CTX);
    expect(error).toBeInstanceOf(c.is);
    expect(error.code).toBe(c.code);
    expect(error.message).toBe(c.message);
    expect(error.context).toEqual({ ...CTX, status: c.status, ...(c.detail ? { detail: c.detail } : {}) });
    if (c.is === RateLimitedError) expect((error as RateLimitedError).retryAfterMs).toBe(c.retryAfterMs);
    if (c.is === TransientError) expect((error as TransientError).ambiguous).toBe(c.ambiguous);
  });

  it('a long body is quoted up to 300 characters', () => {
    const error = errorForStatus(500, {}, 'x'.repeat(400), CTX);
    expect(error.context.detail).toBe(`${'x'.repeat(300)}…`);
  });

  it("a SCIM detail is kept up to 1,000 characters and a scimType up to 40, however long the server makes them", () => {
    const error = errorForStatus(400, {}, JSON.stringify({ detail: 'd'.repeat(1_000_000), scimType: 't'.repeat(1_000) }), CTX);
    expect(error.context.detail).toBe(`${'d'.repeat(1_000)}…`);
    expect(error.message.length).toBeLessThan(1_200);
    const typed = errorForStatus(400, {}, JSON.stringify({ detail: 'bad', scimType: 't'.repeat(1_000) }), CTX);
    expect(typed.context.detail).toBe(`bad (scimType ${'t'.repeat(40)}…)`);
  });

  it('a credential the server echoes is redacted, also inside JSON escapes', () => {
    registerSecret('s3cr3t-"token"');
    const body = JSON.stringify({ detail: 'bad token s3cr3t-"token" for app' });
    expect(serverDetail(body)).toBe('bad token [redacted] for app');
    expect(errorForStatus(401, {}, body, CTX).message).not.toContain('s3cr3t');
  });
});

describe('errorInBody: a 2xx that carries an error', () => {
  const of = (body: Record<string, unknown>, headers: Record<string, string> = {}) => errorInBody(200, headers, body as never, () => JSON.stringify(body), CTX);

  it.each<[string, Record<string, unknown>, Class, number | undefined]>([
    ['a SCIM Error naming 403', JSON.parse(scimError(403, 'Cannot deactivate an owner')) as Record<string, unknown>, AuthError, 403],
    ['a SCIM Error naming 400 as a number', { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: 400, detail: 'bad' }, BadRequestError, 400],
    ['no Error schema, a status of 404', { status: '404', detail: 'gone' }, NotFoundError, 404],
    ['a SCIM Error naming no status', { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], detail: 'no' }, ProtocolError, 200],
    ['a SCIM Error naming a success status', { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '200' }, ProtocolError, 200],
  ])('%s', (_name, body, cls, status) => {
    const error = of(body);
    expect(error).toBeInstanceOf(cls);
    expect(error?.context).toMatchObject({ ...CTX, status });
  });

  it('a 429 in the body takes the Retry-After of the answer', () => {
    const error = of(JSON.parse(scimError(429, 'slow down')) as Record<string, unknown>, { 'retry-after': '7' });
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(7000);
    expect(error?.message).toBe('rate limited (HTTP 429): slow down, answered as HTTP 200');
  });

  it('a resource, or a status below 400, is no error', () => {
    expect(of({ id: 'u1', userName: 'ada', schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] })).toBeUndefined();
    expect(of({ id: 'u1', status: 'active' })).toBeUndefined();
    expect(of({ id: 'u1', status: 201 })).toBeUndefined();
  });
});

describe('Retry-After', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const NOW = Date.parse('2026-11-30T12:00:00Z');
  it.each([
    ['120', 120_000],
    [' 3 ', 3000],
    ['0', 0],
    ['Mon, 30 Nov 2026 12:00:30 GMT', 30_000],
    ['Mon, 30 Nov 2026 11:59:00 GMT', 0],
    ['Monday, 30-Nov-26 12:00:10 GMT', 10_000],
    ['Mon Nov 30 12:00:20 2026', 20_000],
    ['tomorrow', undefined],
    ['', undefined],
    // delay-seconds is 1*DIGIT; Date.parse would take these for dates (in 2001, or year -5).
    ['-5', undefined],
    ['1.5', undefined],
    ['+5', undefined],
    ['2026', 2_026_000],
    ['30 Nov 2026 12:00:30 GMT', undefined],
  ] as const)('%j -> %s ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it.each(['-5', '1.5'])('a 429 with Retry-After %j is retried on our own backoff, not at once', (value) => {
    const error = errorForStatus(429, { 'retry-after': value }, '', CTX) as RateLimitedError;
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterMs).toBeUndefined();
    // Full jitter up to the backoff of the attempt: with random() near 1 it is the ceiling, not 0.
    expect(retryDelay(error, 3, DEFAULT_RETRY_POLICY, () => 0.999)).toBe(Math.floor(0.999 * DEFAULT_RETRY_POLICY.baseDelayMs * 4));
    // A 503 whose Retry-After is not one is a plain server error.
    expect(errorForStatus(503, { 'retry-after': value }, '', CTX)).toBeInstanceOf(TransientError);
  });

  it('an HTTP date in a 429 is counted from the clock', () => {
    vi.useFakeTimers({ now: NOW });
    const error = errorForStatus(429, { 'retry-after': 'Mon, 30 Nov 2026 12:01:00 GMT' }, '', CTX) as RateLimitedError;
    expect(error.retryAfterMs).toBe(60_000);
  });
});

describe('errorForNetwork', () => {
  const net = (code: string) => Object.assign(new Error(`boom ${code}`), { code });
  it.each([
    ['ECONNREFUSED', 'https://scim.example.com/v2', TransientError, 'cannot connect to scim.example.com:443 (ECONNREFUSED)', false],
    ['ENOTFOUND', 'http://nowhere.invalid/scim', TransientError, 'cannot connect to nowhere.invalid:80 (ENOTFOUND: no such host)', false],
    ['ETIMEDOUT', 'https://scim.example.com:8443/v2', TransientError, 'no answer from scim.example.com:8443 in time (ETIMEDOUT; timeoutMs)', true],
    ['ECONNRESET', 'https://scim.example.com/v2', TransientError, 'connection to scim.example.com:443 failed (ECONNRESET)', true],
    [
      'SELF_SIGNED_CERT_IN_CHAIN',
      'https://scim.example.com/v2',
      ProtocolError,
      "TLS handshake with scim.example.com:443 failed (SELF_SIGNED_CERT_IN_CHAIN): the server's certificate is not trusted (tls.ca)",
      undefined,
    ],
    [
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'https://scim.example.com/v2',
      ProtocolError,
      'TLS handshake with scim.example.com:443 failed (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED): the server refused our client certificate (tls.cert, tls.key)',
      undefined,
    ],
  ] as const)('%s -> %s', (code, url, is, message, ambiguous) => {
    const cause = net(code);
    const error = errorForNetwork(cause, CTX, url);
    expect(error).toBeInstanceOf(is);
    expect(error.message).toBe(message);
    expect(error.context).toEqual(CTX);
    expect(error.cause).toBe(cause);
    if (ambiguous !== undefined) expect((error as TransientError).ambiguous).toBe(ambiguous);
  });
});

describe('errorForTokenStatus', () => {
  it.each([
    [400, '{"error":"invalid_client"}', AuthError, 'OAuth token request refused (HTTP 400): invalid_client; check auth.clientId, auth.clientSecret and auth.scope'],
    [401, '', AuthError, 'OAuth token request refused (HTTP 401); check auth.clientId, auth.clientSecret and auth.scope'],
    [429, '', RateLimitedError, 'rate limited (HTTP 429)'],
    [502, '', TransientError, 'server error (HTTP 502)'],
  ] as const)('HTTP %i -> %s', (status, body, is, message) => {
    const error = errorForTokenStatus(status, {}, body, CTX);
    expect(error).toBeInstanceOf(is);
    expect(error.message).toBe(message);
  });
});
