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
    return this.get(path, params, true);
  }

  private get(path: string, params: Record<string, string | undefined>): Promise<Json>;
  private get(path: string, params: Record<string, string | undefined>, missingIsNull: true): Promise<Json | null>;
  private async get(path: string, params: Record<string, string | undefined>, missingIsNull = false): Promise<Json | null> {
    const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
    const where = `Google Workspace: GET ${path}`;
    for (let attempt = 1; ; attempt++) {
      let response;
      try {
        const headers = { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br', authorization: `Bearer ${await this.token.value()}` };
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
      if (status === 404 && missingIsNull) return null;
      const body = parseJson(response.body);
      const error = googleError(body);
      if (status !== 200) {
        const delay = retryWait({ status, reason: error.reason, headers: response.headers }, attempt, this.pacing);
        if (delay !== null) {
          await this.pacing.wait(delay);
          continue;
        }
      }
      if (body === undefined) {
        throw new SourceError(`${where}: HTTP ${status}, and the answer is not JSON: "${redact(response.body.replace(/\s+/g, ' ')).slice(0, 120)}"`);
      }
      if (status !== 200 || !body || typeof body !== 'object' || Array.isArray(body)) {
        const asked = response.headers['retry-after'];
        const notes = [attempt > 1 ? `after ${attempt} tries` : '', asked ? `Retry-After: ${String(asked)}` : ''].filter((n) => n !== '');
        throw new SourceError(`${where}: HTTP ${status}: ${error.message ?? 'not a JSON object'}${notes.length ? ` (${notes.join('; ')})` : ''}`);
      }
      return body as Json;
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
