/**
 * `events`: inbound HR webhooks that `scim-sync serve` accepts on `POST /events/<name>`. An event is
 * a hint: it names people who may have changed, each is read again from the source and planned like
 * in a cycle; nothing an event carries is ever written to an app. docs/inbound-events.md says what
 * each vendor sends and signs, with sources.
 *
 * The per-format and per-scheme defaults below are the one place they are written: the endpoint's
 * settings (sources/events/endpoint-settings.ts) and these descriptions both read them.
 */
import * as z from 'zod';
import { positiveInt } from './numbers.js';
import { secret } from './secret-field.js';

export const EVENT_FORMATS = ['bamboohr', 'hibob', 'personio', 'cloudevents'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

/**
 * How a request proves where it came from:
 * - `bamboohr`: hex HMAC of the raw body followed by the timestamp header's text (BambooHR's scheme);
 * - `hibob`: HMAC of the raw body (HiBob's scheme: SHA-512, base64), no timestamp;
 * - `scim-sync`: ours, `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (several v1 allowed);
 * - `token`: the header holds a static token equal to the secret (Personio offers nothing else): it
 *   proves the sender knows the token, not that the body is theirs, and carries no time.
 */
export const SIGNATURE_SCHEMES = ['bamboohr', 'hibob', 'scim-sync', 'token'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

export interface SchemeDefaults {
  readonly header: string;
  readonly timestampHeader?: string;
  readonly algorithm?: 'sha256' | 'sha512';
  readonly encoding?: 'hex' | 'base64';
}

export const SCHEME_DEFAULTS: Readonly<Record<SignatureScheme, SchemeDefaults>> = {
  bamboohr: { header: 'X-BambooHR-Signature', timestampHeader: 'X-BambooHR-Timestamp', algorithm: 'sha256', encoding: 'hex' },
  hibob: { header: 'Bob-Signature', algorithm: 'sha512', encoding: 'base64' },
  'scim-sync': { header: 'X-Scim-Sync-Signature', algorithm: 'sha256', encoding: 'hex' },
  token: { header: 'Authorization' },
};

export interface FormatDefaults {
  readonly scheme: SignatureScheme;
  /** Where the person's key is, in the format's subject record (see `keyField`). */
  readonly keyField: string;
  /** Where a future effective date is, if the format has one. */
  readonly effectiveAtField?: string;
}

export const FORMAT_DEFAULTS: Readonly<Record<EventFormat, FormatDefaults>> = {
  bamboohr: { scheme: 'bamboohr', keyField: 'id' },
  hibob: { scheme: 'hibob', keyField: 'employeeId', effectiveAtField: 'effectiveDate' },
  // person.* events name the person by `id`; employment.* events are read at `person.id` (see personio.ts).
  personio: { scheme: 'token', keyField: 'id' },
  cloudevents: { scheme: 'scim-sync', keyField: 'subject', effectiveAtField: 'data.effectiveAt' },
};

/** Largest request body the server reads before it answers 413. */
export const MAX_EVENT_BODY_BYTES = 1024 * 1024;

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'an HTTP header name (letters, digits, "-")');
/** A dotted path into the subject record; a segment may hold spaces and "#" (BambooHR's "Employee #"). */
const fieldPath = z
  .string()
  .min(1)
  .max(200)
  .refine((p) => p.split('.').every((s) => s.trim() !== ''), { message: 'a field name or a dotted path (data.employeeId), no empty segment' });

/** `a x, b y` for a description's defaults. */
const listOf = (m: Readonly<Record<string, string | undefined>>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v ?? 'none'}`)
    .join(', ');

const signature = z
  .object({
    scheme: z
      .enum(SIGNATURE_SCHEMES)
      .optional()
      .describe(
        `How requests are signed: bamboohr (hex HMAC of body + timestamp), hibob (HMAC of the body), scim-sync ` +
          `(t=<unix>,v1=<hex HMAC-SHA256 of "t.body">), token (a static token in a header, compared whole). ` +
          `Default per format: ${listOf(Object.fromEntries(EVENT_FORMATS.map((f) => [f, FORMAT_DEFAULTS[f].scheme])))}.`,
      ),
    header: headerName
      .optional()
      .describe(`Header carrying the signature (or token). Default per scheme: ${listOf(Object.fromEntries(SIGNATURE_SCHEMES.map((s) => [s, SCHEME_DEFAULTS[s].header])))}.`),
    timestampHeader: headerName
      .optional()
      .describe(`Header carrying the signed timestamp (unix seconds); scheme bamboohr only. Default ${SCHEME_DEFAULTS.bamboohr.timestampHeader}.`),
    algorithm: z
      .enum(['sha256', 'sha512'])
      .optional()
      .describe(`HMAC hash; schemes bamboohr and hibob (scim-sync is always sha256). Default per scheme: bamboohr sha256, hibob sha512.`),
    encoding: z
      .enum(['hex', 'base64'])
      .optional()
      .describe('How the HMAC is written in the header; schemes bamboohr and hibob. Default per scheme: bamboohr hex, hibob base64.'),
  })
  .strict();

export const eventEndpoint = z
  .object({
    format: z.enum(EVENT_FORMATS).describe('The payload shape: bamboohr, hibob, personio, or cloudevents (a CloudEvents 1.0 JSON event or batch, signed with scheme scim-sync).'),
    secret: secret
      .refine((s) => s.origin !== 'inline', {
        message: 'an inbound secret must be a reference, ${env:NAME} or ${file:path}: written inline it would sit in org.yaml',
      })
      .describe("The vendor's signing key (BambooHR's private key, HiBob's secret, our scim-sync key) or, for scheme token, the exact header value. ${env:NAME} or ${file:path}; never inline."),
    signature: signature.prefault({}).describe("How requests are signed; every field defaults from the format, so most endpoints need none."),
    keyField: fieldPath
      .optional()
      .describe(
        "Where an event names the person's source key: it must hold the same value as the source's key (source.key), or the person read is the wrong one or nobody. " +
          'A path in the subject record: bamboohr each posted employee (id, or a posted field by the name the webhook uses, e.g. "Employee #"), ' +
          'hibob the event\'s data (v1 events also employee.<field>), personio the event\'s payload, cloudevents the event (subject, data.<field>). ' +
          `Default per format: ${listOf(Object.fromEntries(EVENT_FORMATS.map((f) => [f, FORMAT_DEFAULTS[f].keyField])))} (personio employment.* events: person.id).`,
      ),
    effectiveAtField: fieldPath
      .optional()
      .describe(
        'Where an event carries the date its change takes effect (ISO 8601 date or date-time; a date alone is 00:00 UTC). A future date is kept and the person re-read at that instant. ' +
          `Same paths as keyField. Default per format: ${listOf(Object.fromEntries(EVENT_FORMATS.map((f) => [f, FORMAT_DEFAULTS[f].effectiveAtField])))}.`,
      ),
    toleranceSeconds: positiveInt
      .default(300)
      .describe('A signed timestamp further than this from our clock, either way, is refused (401): a captured request cannot be replayed later. Schemes bamboohr and scim-sync. Default 300 seconds.'),
    dedupSeconds: positiveInt
      .default(259_200)
      .describe('How long an event id is remembered: a delivery seen again within this is answered 200 and does nothing. Personio retries for up to 3 days. Default 259200 seconds (3 days).'),
  })
  .strict()
  .superRefine((e, ctx) => {
    // Against the scheme in force, the format's default included: a setting it would ignore is a mistake to say.
    const scheme = e.signature.scheme ?? FORMAT_DEFAULTS[e.format].scheme;
    if (e.signature.timestampHeader !== undefined && scheme !== 'bamboohr') {
      ctx.addIssue({ code: 'custom', path: ['signature', 'timestampHeader'], message: `only scheme bamboohr signs a timestamp header (scheme is ${scheme})` });
    }
    if (scheme === 'token' || scheme === 'scim-sync') {
      for (const key of ['algorithm', 'encoding'] as const) {
        if (e.signature[key] !== undefined) ctx.addIssue({ code: 'custom', path: ['signature', key], message: `not used by scheme ${scheme}` });
      }
    }
    // A signed request still inside the tolerance, its id forgotten, could be replayed as new.
    if ((scheme === 'bamboohr' || scheme === 'scim-sync') && e.dedupSeconds < 2 * e.toleranceSeconds) {
      ctx.addIssue({ code: 'custom', path: ['dedupSeconds'], message: `must be at least twice toleranceSeconds (${2 * e.toleranceSeconds}): an event id forgotten sooner could be replayed while its signed timestamp is still accepted` });
    }
  });

/** Endpoint names are URL path segments (`/events/<name>`) and state keys: a small alphabet. */
export const EVENT_ENDPOINT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const events = z
  .record(z.string().regex(EVENT_ENDPOINT_NAME, 'endpoint names use lowercase letters, digits, "-" and "_" (1-63 characters, starting with a letter or digit): they become /events/<name>'), eventEndpoint)
  .describe('Inbound HR webhooks for `scim-sync serve`, by endpoint name: each is served at POST /events/<name>. Default none.');
