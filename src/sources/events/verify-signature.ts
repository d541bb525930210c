/**
 * Whether an inbound request comes from the holder of the endpoint's secret. Every HMAC is over the
 * raw body bytes as received (a body parsed and serialised again differs in spacing and key order),
 * every comparison is constant-time over equal-length buffers, and a signed timestamp must lie
 * within the tolerance either way. Pure: the clock is a parameter.
 *
 * The reason of a refusal is for the service's log; the sender only ever gets a bare 401. No reason
 * quotes a header value, the signature or the secret.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SignatureSettings } from './endpoint-settings.js';

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): Verdict => ({ ok: false, reason });

/** The header's one value; undefined when absent, null when sent more than once (ambiguous: refused). */
function single(headers: IncomingHttpHeaders, name: string): string | undefined | null {
  const value = headers[name];
  if (Array.isArray(value)) return value.length === 1 ? value[0] : null;
  return value;
}

/** Constant-time equality; different lengths are unequal at once (a digest's length is no secret). */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function hmac(algorithm: string, secret: string, ...parts: Buffer[]): Buffer {
  const h = createHmac(algorithm, secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The digest a header claims, decoded; undefined when it is not that encoding at all. */
function decode(value: string, encoding: 'hex' | 'base64'): Buffer | undefined {
  const text = value.trim();
  if (encoding === 'hex') return /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? Buffer.from(text, 'hex') : undefined;
  return /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Unix seconds in a header, checked against the window. */
function checkTimestamp(value: string, now: Date, toleranceSeconds: number): Verdict {
  if (!/^\d{1,12}$/.test(value)) return refuse('timestamp is not unix seconds');
  const skew = Math.abs(now.getTime() / 1000 - Number(value));
  return skew > toleranceSeconds ? refuse(`timestamp ${Math.round(skew)} s from our clock (tolerance ${toleranceSeconds} s)`) : { ok: true };
}

/** `t=<unix>,v1=<hex>[,v1=<hex>...]`: our scheme, several v1 while a sender rotates its key. */
function parseScimSync(value: string): { t: string; v1: string[] } | undefined {
  let t: string | undefined;
  const v1: string[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const [name, v] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (name === 't') {
      if (t !== undefined) return undefined;
      t = v;
    } else if (name === 'v1') v1.push(v);
  }
  return t !== undefined && v1.length > 0 ? { t, v1 } : undefined;
}

/**
 * What the headers alone refuse: the signature header missing, empty or sent twice. Judged before
 * the body is read (no body can make such a request pass), so a sender that cannot sign holds none
 * of the server's reads of event bodies.
 */
export function headerVerdict(settings: SignatureSettings, headers: IncomingHttpHeaders): Verdict {
  const value = single(headers, settings.header);
  if (value === null) return refuse('signature header sent more than once');
  if (value === undefined || value.trim() === '') return refuse('signature header missing');
  return { ok: true };
}

export function verifySignature(settings: SignatureSettings, rawBody: Buffer, headers: IncomingHttpHeaders, secret: string, now: Date): Verdict {
  const unsigned = headerVerdict(settings, headers);
  if (!unsigned.ok) return unsigned;
  const value = single(headers, settings.header)!;

  switch (settings.scheme) {
    case 'token': {
      // Hashed first so both sides have one length, whatever the token's.
      const digest = (s: string) => createHash('sha256').update(s).digest();
      return sameBytes(digest(value), digest(secret)) ? { ok: true } : refuse('token does not match');
    }
    case 'hibob': {
      const claimed = decode(value, settings.encoding);
      if (!claimed) return refuse(`signature is not ${settings.encoding}`);
      return sameBytes(claimed, hmac(settings.algorithm, secret, rawBody)) ? { ok: true } : refuse('signature does not match');
    }
    case 'bamboohr': {
      const name = settings.timestampHeader ?? 'x-bamboohr-timestamp';
      const timestamp = single(headers, name);
      if (timestamp === null) return refuse('timestamp header sent more than once');
      if (timestamp === undefined) return refuse('timestamp header missing');
      const claimed = decode(value, settings.encoding);
      if (!claimed) return refuse(`signature is not ${settings.encoding}`);
      // Signature first: a forged request learns nothing from which check failed (both answer 401).
      if (!sameBytes(claimed, hmac(settings.algorithm, secret, rawBody, Buffer.from(timestamp, 'utf8')))) return refuse('signature does not match');
      return checkTimestamp(timestamp, now, settings.toleranceSeconds);
    }
    case 'scim-sync': {
      const parsed = parseScimSync(value);
      if (!parsed) return refuse('signature header malformed (expected t=<unix>,v1=<hex>)');
      const expected = hmac('sha256', secret, Buffer.from(`${parsed.t}.`, 'utf8'), rawBody);
      // Every candidate is compared, so the time taken does not say which one matched.
      let match = false;
      for (const candidate of parsed.v1) {
        const claimed = decode(candidate, 'hex');
        if (claimed && sameBytes(claimed, expected)) match = true;
      }
      if (!match) return refuse('signature does not match');
      return checkTimestamp(parsed.t, now, settings.toleranceSeconds);
    }
  }
}
