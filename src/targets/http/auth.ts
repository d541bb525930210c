/**
 * Credentials on the wire: the headers each auth type adds to a request. OAuth 2.0 client
 * credentials fetch a token, cache it, and fetch a new one shortly before it expires (or once when
 * the server rejects it early, e.g. after a key rotation).
 */
import { MIN_SECRET_LENGTH, registerCredential, Secret } from '../../config/secret.js';
import { ProtocolError, type ErrorContext } from '../../errors.js';
import { errorForTokenStatus, errorForTransport } from './error-mapping.js';
import { Transport, type HttpAnswer, type TlsMaterial } from './transport.js';

export type ClientAuth =
  | { type: 'bearer'; token: Secret }
  | { type: 'basic'; username: string; password: Secret }
  | { type: 'header'; name: string; token: Secret }
  | { type: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: Secret; scope?: string | undefined }
  | { type: 'none' };

export interface AuthProvider {
  /** Headers to add to the next request (names lower-case). */
  headers(): Promise<Record<string, string>>;
  /** Forget a rejected credential; true when a new one can be fetched (worth one more try). */
  renew(): boolean;
}

/** A token is renewed this long before it expires, ms. */
const RENEW_BEFORE_MS = 60_000;
/** Lifetime assumed when the token answer has no expires_in, ms. */
const DEFAULT_LIFETIME_MS = 3_600_000;

function fixed(headers: Record<string, string>): AuthProvider {
  return { headers: async () => headers, renew: () => false };
}

export interface AuthOptions {
  target: string;
  timeoutMs: number;
  tls?: TlsMaterial | undefined;
  /** Largest token answer read, bytes (the target's maxResponseBytes). */
  maxResponseBytes: number;
  now?: () => number;
}

export function authProvider(auth: ClientAuth, options: AuthOptions): AuthProvider {
  switch (auth.type) {
    case 'bearer':
      return fixed({ authorization: `Bearer ${auth.token.reveal()}` });
    case 'basic':
      return fixed({ authorization: `Basic ${basicCredential(auth.username, auth.password.reveal())}` });
    case 'header':
      return fixed({ [auth.name.toLowerCase()]: auth.token.reveal() });
    case 'oauth2':
      return new ClientCredentials(auth, options);
    case 'none':
      return fixed({});
  }
}

/**
 * The base64 `user:password` of HTTP Basic, registered with the redactor: it is as good as the
 * password to whoever reads it.
 */
function basicCredential(user: string, password: string): string {
  registerCredential(user, password);
  return Buffer.from(`${user}:${password}`).toString('base64');
}

class ClientCredentials implements AuthProvider {
  /** The token and the headers that send it, made once per token (the client merges its own headers once per object). */
  private token: { value: Secret; renewAt: number; headers: Record<string, string> } | undefined;
  private pending: Promise<Secret> | undefined;
  private readonly now: () => number;
  private readonly transport: Transport;

  constructor(
    private readonly auth: Extract<ClientAuth, { type: 'oauth2' }>,
    private readonly options: AuthOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.transport = new Transport(auth.tokenUrl, { maxSockets: 2, timeoutMs: options.timeoutMs, maxResponseBytes: options.maxResponseBytes, tls: options.tls });
  }

  async headers(): Promise<Record<string, string>> {
    if (!this.token || this.now() >= this.token.renewAt) {
      // One request for a new token, however many requests are waiting for it.
      this.pending ??= this.fetch().finally(() => {
        this.pending = undefined;
      });
      await this.pending;
    }
    return this.token!.headers;
  }

  renew(): boolean {
    this.token = undefined;
    return true;
  }

  private async fetch(): Promise<Secret> {
    const url = new URL(this.auth.tokenUrl);
    const ctx: ErrorContext = { target: this.options.target, request: `POST ${url.origin}${url.pathname}` };
    const form: Record<string, string> = { grant_type: 'client_credentials' };
    if (this.auth.scope) form['scope'] = this.auth.scope;
    // client_secret_basic: the method RFC 6749 §2.3.1 requires every server to support.
    const basic = basicCredential(encodeURIComponent(this.auth.clientId), encodeURIComponent(this.auth.clientSecret.reveal()));
    let response: HttpAnswer;
    try {
      response = await this.transport.send({
        method: 'POST',
        path: `${url.pathname}${url.search}`,
        headers: {
          authorization: `Basic ${basic}`,
          accept: 'application/json',
          'accept-encoding': 'gzip, deflate, br',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams(form).toString(),
      });
    } catch (error) {
      throw errorForTransport(error, ctx, this.auth.tokenUrl);
    }
    if (response.status !== 200) throw errorForTokenStatus(response.status, response.headers, response.body, ctx);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(response.body) as Record<string, unknown>;
    } catch {
      throw new ProtocolError('the token endpoint answered something other than JSON', ctx);
    }
    const accessToken = parsed['access_token'];
    if (typeof accessToken !== 'string' || accessToken === '') throw new ProtocolError('the token answer has no access_token', ctx);
    // A shorter token could not be kept out of output (see MIN_SECRET_LENGTH); no real server issues one.
    if (accessToken.length < MIN_SECRET_LENGTH) throw new ProtocolError(`the token endpoint issued an access token shorter than ${MIN_SECRET_LENGTH} characters`, ctx);
    const type = parsed['token_type'];
    if (typeof type === 'string' && type.toLowerCase() !== 'bearer') {
      throw new ProtocolError(`the token endpoint issued a "${type}" token; only bearer tokens are supported`, ctx);
    }
    const expiresIn = Number(parsed['expires_in']);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_LIFETIME_MS;
    // Short-lived tokens are renewed halfway through rather than a minute before the end.
    const renewAt = this.now() + Math.max(lifetime / 2, lifetime - RENEW_BEFORE_MS);
    // Registered with the redactor as it arrives: a server may echo it in an error body.
    const value = new Secret(accessToken, `oauth2:${url.host}`, { rotates: `oauth2 ${url.href} ${this.auth.clientId} ${this.auth.scope ?? ''}` });
    this.token = { value, renewAt, headers: { authorization: `Bearer ${accessToken}` } };
    return value;
  }
}
