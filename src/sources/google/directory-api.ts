/**
 * The Admin SDK Directory API, read-only and paged (users.list, groups.list, members.list). A page
 * that cannot be read after the tries google-retry.ts allows fails the whole read, naming the
 * request: a shorter list would read as departures. What is worth another try (no answer, 429,
 * 5xx, a 403 for a spent quota) is decided there; anything else is not retried.
 */
import { Transport } from '../../targets/http/transport.js';
import { SourceError } from '../../errors.js';
import { redact } from '../../config/secret.js';
import { GOOGLE_PACING, retryWait, type Pacing } from './google-retry.js';
import type { ServiceAccountToken } from './service-account.js';

type Json = Record<string, unknown>;

/** What users.get says of an address: the user, or that there is none to read (see lookup). */
export type Lookup = { readonly found: Json } | { readonly absent: 'missing' | 'refused'; readonly answer: string };

/** Google's reasons for a 403 or 400 about the address asked for: not of the customer's domains, or not an address. */
const NOT_OURS: ReadonlySet<string> = new Set(['forbidden', 'badRequest', 'invalid', 'notFound', 'domainNotFound']);

/** Largest answer read, bytes: a page of 500 full users is a few MB. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export class DirectoryApi {
  private readonly transport: Transport;
  /** The root's path ('' or '/admin'), which every request path starts with. */
  private readonly rootPath: string;

  constructor(
    private readonly root: string,
    private readonly token: ServiceAccountToken,
    timeoutMs: number,
    private readonly pacing: Pacing = GOOGLE_PACING,
  ) {
    // The same HTTP layer as the targets: keep-alive, proxies from HTTPS_PROXY / NO_PROXY, a total deadline.
    this.transport = new Transport(root, { maxSockets: 2, timeoutMs, maxResponseBytes: MAX_ANSWER_BYTES });
    this.rootPath = new URL(root).pathname.replace(/\/+$/, '');
  }

  /** Every item of a paged list: `field` names the array in each page (users, groups, members). */
  async listAll(path: string, params: Record<string, string | undefined>, field: string): Promise<Json[]> {
    const items: Json[] = [];
    let pageToken: string | undefined;
    const seen = new Set<string>();
    do {
      const page = await this.get(path, { ...params, ...(pageToken ? { pageToken } : {}) });
      const list = page[field];
      if (list !== undefined && !Array.isArray(list)) throw new SourceError(`Google Workspace: GET ${path}: "${field}" is not a list`);
      for (const item of list ?? []) if (item && typeof item === 'object') items.push(item as Json);
      pageToken = typeof page['nextPageToken'] === 'string' && page['nextPageToken'] !== '' ? page['nextPageToken'] : undefined;
      // A token handed out twice would loop for ever.
      if (pageToken !== undefined) {
        if (seen.has(pageToken)) throw new SourceError(`Google Workspace: GET ${path}: the server repeated a page token`);
        seen.add(pageToken);
      }
    } while (pageToken !== undefined);
    return items;
  }

  /** One resource (users.get), or null when the API answers 404: no such user. */
  async find(path: string, params: Record<string, string | undefined>): Promise<Json | null> {
    const got = await this.fetch(path, params);
    if ('json' in got) return got.json;
    if (got.status === 404) return null;
    throw new SourceError(`Google Workspace: GET ${path}: ${got.text}`);
  }

  /**
   * users.get of an address that an event or a manager relation names, which may not be of the
   * customer's domains. Google then refuses to say (403 forbidden, 400 badRequest or invalid)
   * rather than answer 404; both are `absent`. Google refuses the same way an admin who may not
   * read users at all: only the caller, knowing what else it read with the same credentials, can
   * tell the two apart. Any other failure throws.
   */
  async lookup(path: string, params: Record<string, string | undefined>): Promise<Lookup> {
    const got = await this.fetch(path, params);
    if ('json' in got) return { found: got.json };
    if (got.status === 404) return { absent: 'missing', answer: got.text };
    if ((got.status === 403 || got.status === 400) && got.reason !== undefined && NOT_OURS.has(got.reason)) return { absent: 'refused', answer: got.text };
    throw new SourceError(`Google Workspace: GET ${path}: ${got.text}`);
  }

  /** One page or resource; any answer but one throws. */
  async get(path: string, params: Record<string, string | undefined>): Promise<Json> {
    const got = await this.fetch(path, params);
    if ('json' in got) return got.json;
    throw new SourceError(`Google Workspace: GET ${path}: ${got.text}`);
  }

  /**
   * The resource, or the API's final JSON answer that is not one (after the retries
   * google-retry.ts allows); `text` says it for a message. A 404 counts as an answer whatever its
   * body; any other answer that is not JSON throws.
   */
  private async fetch(path: string, params: Record<string, string | undefined>): Promise<{ json: Json } | { status: number; reason: string | undefined; text: string }> {
    const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
    const where = `Google Workspace: GET ${path}`;
    // A 401 within a token's hour (revoked, the grant changed) is answered by one fresh token.
    let renewed = false;
    let token = '';
    for (let attempt = 1; ; attempt++) {
      let response;
      try {
        token = await this.token.value();
        const headers = { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br', authorization: `Bearer ${token}` };
        response = await this.transport.send({ method: 'GET', path: `${this.rootPath}${path}${query ? `?${query}` : ''}`, headers });
      } catch (error) {
        // The token's own failures, already tried again as often as they deserve (service-account.ts).
        if (error instanceof SourceError) throw error;
        const delay = retryWait(undefined, attempt, this.pacing);
        if (delay !== null) {
          await this.pacing.wait(delay);
          continue;
        }
        throw new SourceError(`${where} failed after ${attempt} tries: ${(error as Error).message}`, {}, { cause: error });
      }
      const status = response.status;
      if (status === 401 && !renewed) {
        renewed = true;
        await this.token.renew(token);
        // Not a try of the retry policy's: the same request, with a token that may work.
        attempt--;
        continue;
      }
      const body = parseJson(response.body);
      const error = googleError(body);
      if (status !== 200) {
        const delay = retryWait({ status, reason: error.reason, headers: response.headers }, attempt, this.pacing);
        if (delay !== null) {
          await this.pacing.wait(delay);
          continue;
        }
      }
      if (body === undefined && status !== 404) {
        throw new SourceError(`${where}: HTTP ${status}, and the answer is not JSON: "${redact(response.body.replace(/\s+/g, ' ')).slice(0, 120)}"`);
      }
      if (status !== 200 || !body || typeof body !== 'object' || Array.isArray(body)) {
        const asked = response.headers['retry-after'];
        const notes = [attempt > 1 ? `after ${attempt} tries` : '', renewed ? 'with a fresh token too' : '', asked ? `Retry-After: ${String(asked)}` : ''].filter((n) => n !== '');
        return { status, reason: error.reason, text: `HTTP ${status}: ${error.message ?? 'not a JSON object'}${notes.length ? ` (${notes.join('; ')})` : ''}` };
      }
      return { json: body as Json };
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Google's error body: {error: {code, message, errors: [{reason, message, domain}], status}}. */
function googleError(body: unknown): { message?: string; reason?: string } {
  const error = (body as { error?: { message?: unknown; errors?: unknown } } | null | undefined)?.error;
  const first: unknown = Array.isArray(error?.errors) ? error.errors[0] : undefined;
  const reason = first && typeof first === 'object' ? (first as { reason?: unknown }).reason : undefined;
  return { ...(typeof error?.message === 'string' ? { message: error.message } : {}), ...(typeof reason === 'string' ? { reason } : {}) };
}
