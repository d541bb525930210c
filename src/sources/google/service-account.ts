/**
 * Google service-account credentials with domain-wide delegation (RFC 7523 JWT bearer grant): a
 * JWT signed with the account's key, naming the admin it acts for and the scopes, is exchanged at
 * the key's token_uri for an access token, kept until a minute before it expires. Signed here with
 * node:crypto: it is one RS256 signature, and the token endpoint then comes from the key file alone.
 * Neither the key nor the assertion ever reaches a message. No answer, 429 and 5xx are tried again
 * as the Directory API's are (google-retry.ts): a blip at the token endpoint would fail a whole read.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { Transport, TransportError } from '../../targets/http/transport.js';
import { plainHttpOffLoopback } from '../../config/plain-http.js';
import { registerSecret, type Secret } from '../../config/secret.js';
import { SourceError } from '../../errors.js';
import { GOOGLE_PACING, retryWait, type Pacing } from './google-retry.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const RENEW_BEFORE_MS = 60_000;
/** OAuth error codes (RFC 6749 §5.2, §4.1.2.1) by which Google refuses a grant that delegation does not allow. */
const DELEGATION_REFUSALS: ReadonlySet<string> = new Set(['unauthorized_client', 'access_denied']);

interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly key: KeyObject;
  readonly tokenUri: string;
}

/** Reads the key JSON; a broken one is a SourceError that says which field, never what it holds. */
export function parseServiceAccountKey(credentials: Secret): ServiceAccountKey {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(credentials.reveal()) as Record<string, unknown>;
  } catch {
    throw new SourceError('source.credentials: not a service account key (not JSON); download the key as JSON');
  }
  const field = (name: string): string => {
    const value = doc[name];
    if (typeof value !== 'string' || value === '') throw new SourceError(`source.credentials: the service account key has no ${name}`);
    return value;
  };
  if (doc['type'] !== 'service_account') throw new SourceError('source.credentials: not a service account key (type is not service_account)');
  let key: KeyObject;
  try {
    key = createPrivateKey(field('private_key'));
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw new SourceError('source.credentials: the private_key of the service account key cannot be read', {}, { cause: error });
  }
  const tokenUri = typeof doc['token_uri'] === 'string' ? doc['token_uri'] : 'https://oauth2.googleapis.com/token';
  // The grant sent there is a bearer credential for an hour: never across the network in clear
  // (Google's is https; plain http is for a stand-in on this machine).
  if (!/^https?:\/\//i.test(tokenUri) || plainHttpOffLoopback(tokenUri)) {
    throw new SourceError(`source.credentials: the key's token_uri ${tokenUri} is not https; the signed grant would cross the network in clear`);
  }
  return { clientEmail: field('client_email'), key, tokenUri };
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

export class ServiceAccountToken {
  private token: { value: string; renewAt: number } | undefined;

  private transport: Transport | undefined;

  constructor(
    private readonly account: ServiceAccountKey,
    private readonly subject: string,
    private readonly scopes: readonly string[],
    private readonly timeoutMs: number,
    private readonly pacing: Pacing = GOOGLE_PACING,
    private readonly now: () => number = Date.now,
  ) {}

  async value(): Promise<string> {
    if (this.token && this.now() < this.token.renewAt) return this.token.value;
    return this.fetchToken();
  }

  /**
   * A fresh token, in place of `refused` (the one the API just answered 401 to: revoked, or the
   * key's access changed within its hour). A token already renewed since is taken as it is.
   */
  async renew(refused: string): Promise<string> {
    if (this.token && this.token.value !== refused && this.now() < this.token.renewAt) return this.token.value;
    this.token = undefined;
    return this.fetchToken();
  }

  private async fetchToken(): Promise<string> {
    const issued = Math.floor(this.now() / 1000);
    const claims = { iss: this.account.clientEmail, sub: this.subject, scope: this.scopes.join(' '), aud: this.account.tokenUri, iat: issued, exp: issued + 3600 };
    const unsigned = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
    // Signed once for all the tries: it is good for an hour, and they last a minute or two at most.
    const assertion = `${unsigned}.${base64url(sign('RSA-SHA256', Buffer.from(unsigned), this.account.key))}`;
    // A grant for an hour: a token endpoint that quotes the request in its error must not print it.
    registerSecret(assertion, `google assertion ${this.account.tokenUri} ${this.account.clientEmail} ${this.subject}`);
    const who = `service account ${this.account.clientEmail} acting for ${this.subject}`;
    this.transport ??= new Transport(this.account.tokenUri, { maxSockets: 1, timeoutMs: this.timeoutMs, maxResponseBytes: 1 << 20 });
    const uri = new URL(this.account.tokenUri);
    for (let attempt = 1; ; attempt++) {
      const tries = attempt > 1 ? ` (after ${attempt} tries)` : '';
      let response;
      try {
        response = await this.transport.send({
          method: 'POST',
          path: `${uri.pathname}${uri.search}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ grant_type: GRANT, assertion }).toString(),
        });
      } catch (error) {
        // A blip on the way to the token endpoint (a reset, a timeout) passes; an answer too large does not.
        const delay = error instanceof TransportError ? retryWait(undefined, attempt, this.pacing) : null;
        if (delay !== null) {
          await this.pacing.wait(delay);
          continue;
        }
        throw new SourceError(`Google Workspace: token request to ${this.account.tokenUri} for ${who} failed${tries}: ${(error as Error).message}`, {}, { cause: error });
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(response.body) as Record<string, unknown>;
      } catch {
        // Described below from the status alone.
      }
      if (response.status === 200 && typeof body['access_token'] === 'string') return this.keep(body['access_token'], body['expires_in'], who);
      const delay = response.status === 200 ? null : retryWait({ status: response.status, headers: response.headers }, attempt, this.pacing);
      if (delay !== null) {
        await this.pacing.wait(delay);
        continue;
      }
      const code = typeof body['error'] === 'string' ? body['error'] : undefined;
      const reason = [code, body['error_description']].filter((v) => typeof v === 'string').join(': ') || `HTTP ${response.status}`;
      // Only these say the grant itself is not allowed; an invalid_grant is a clock, a deleted key or
      // an unknown subject, and a 5xx is Google's: blaming delegation there sends the admin astray.
      const hint = code !== undefined && DELEGATION_REFUSALS.has(code) ? ` (domain-wide delegation must allow this client the scopes ${this.scopes.join(', ')})` : '';
      const what = response.status === 429 || response.status >= 500 ? 'could not give' : 'refused';
      throw new SourceError(`Google Workspace: ${this.account.tokenUri} ${what} a token for ${who}: ${reason}${tries}${hint}`);
    }
  }

  private keep(accessToken: string, expiresIn: unknown, who: string): string {
    // A server may echo it in an error body: the redactor must know it.
    registerSecret(accessToken, `google ${this.account.tokenUri} ${who} ${this.scopes.join(' ')}`);
    const lifetimeMs = (typeof expiresIn === 'number' ? expiresIn : 3600) * 1000;
    this.token = { value: accessToken, renewAt: this.now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, 0) };
    return this.token.value;
  }
}
