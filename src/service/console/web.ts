/**
 * The console's HTTP plumbing: the headers every answer carries (a strict Content-Security-Policy:
 * no script at all, styles from /ui only, no framing), cookies, form bodies, and the checks that a
 * request comes from the console's own pages (Host, Origin, Sec-Fetch-Site).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { plainAddress, type AddressSet } from '../../config/address-ranges.js';
import { readBody } from '../http-server.js';
import type { Html } from './html.js';

/** Forms are small: a key, a reason, a token. */
export const MAX_FORM_BYTES = 16 * 1024;

export const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on a form's POST.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

export function sendHtml(res: ServerResponse, status: number, page: Html, headers: Record<string, string | string[]> = {}): void {
  const body = page.text;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** 303: the browser follows with a GET (after a sign-in, or to the sign-in page). */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'content-length': 0, ...headers });
  res.end();
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return out;
}

export interface CookieOptions {
  maxAgeSeconds: number;
  secure: boolean;
}

/**
 * The name a cookie goes by: over https with the `__Host-` prefix, which a browser accepts only
 * from a secure origin, for that host alone (no Domain) and the whole site (Path=/): a neighbouring
 * host of the same domain, or a plain-http page of this one, cannot plant or overwrite it.
 */
export function cookieName(name: string, secure: boolean): string {
  return secure ? `__Host-${name}` : name;
}

/**
 * HttpOnly, SameSite=Strict; over https Secure and the whole site (as its `__Host-` name requires,
 * cookieName), else scoped to /ui.
 */
export function setCookie(name: string, value: string, o: CookieOptions): string {
  return `${cookieName(name, o.secure)}=${value}; Path=${o.secure ? '/' : '/ui'}; HttpOnly; SameSite=Strict; Max-Age=${o.maxAgeSeconds}${o.secure ? '; Secure' : ''}`;
}

/** A url-encoded form body; null when it is too large or of another type. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  const body = await readBody(req, MAX_FORM_BYTES);
  return body === null ? null : new URLSearchParams(body.toString('utf8'));
}

/**
 * The Host values this console answers to: the address it listens on (by IP, and as localhost for
 * loopback) and the public address's host. Any other name is a DNS rebinding or a misrouted request.
 */
export function allowedHosts(req: IncomingMessage, publicUrl: string | undefined): Set<string> {
  const port = req.socket.localPort;
  const address = req.socket.localAddress ?? '';
  const hosts = new Set<string>();
  const ip = address.includes(':') ? `[${address.replace(/^::ffff:/, '')}]` : address;
  hosts.add(`${address.startsWith('::ffff:') ? address.slice(7) : ip}:${port}`);
  if (address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1') for (const h of ['localhost', '127.0.0.1', '[::1]']) hosts.add(`${h}:${port}`);
  if (publicUrl) hosts.add(new URL(publicUrl).host);
  return hosts;
}

/**
 * Whether a state-changing request comes from the console's own pages: a browser's Origin (when it
 * sends one) must be this console's, and Sec-Fetch-Site, when sent, must not say cross-site. The
 * form's CSRF token is checked besides, by the caller.
 */
export function sameOrigin(req: IncomingMessage, hosts: ReadonlySet<string>, publicUrl: string | undefined): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (publicUrl && origin === new URL(publicUrl).origin) return true;
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && hosts.has(url.host);
  } catch {
    return false;
  }
}

/** One hop of X-Forwarded-For as an address: `[2001:db8::1]:443` and `192.0.2.7:5100` lose their port; undefined when unreadable. */
function hopAddress(hop: string): string | undefined {
  let text = hop.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.indexOf(':'));
  const address = plainAddress(text);
  return isIP(address) === 0 ? undefined : address;
}

/**
 * The client's address, for counting failed sign-ins: the connection's peer, unless that is one of
 * `trusted` (serve.console.trustedProxies). Then X-Forwarded-For is read from its end, where the
 * proxies appended what they saw: the first address that is not a trusted proxy is the client. What
 * a client wrote at the front itself is never reached while a proxy appended after it; an unreadable
 * hop stops the walk at the last proxy, which is then counted (the safe side of a limit).
 */
export function clientAddress(req: IncomingMessage, trusted?: AddressSet): string {
  const peer = plainAddress(req.socket.remoteAddress ?? 'unknown');
  const forwarded = req.headers['x-forwarded-for'];
  if (!trusted || !trusted(peer) || typeof forwarded !== 'string') return peer;
  let client = peer;
  const hops = forwarded.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hopAddress(hops[i]!);
    if (hop === undefined) return client;
    client = hop;
    if (!trusted(hop)) return hop;
  }
  return client;
}
