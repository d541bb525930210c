/**
 * The Admin SDK Directory API, read-only and paged (users.list, groups.list, members.list). A page
 * that cannot be read after a few tries fails the whole read, naming the request: a shorter list
 * would read as departures. 429 and 5xx are retried with backoff (Google's own advice for its
 * quota errors); anything else is not.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Transport } from '../../targets/http/transport.js';
import { SourceError } from '../../errors.js';
import { redact } from '../../config/secret.js';
import type { ServiceAccountToken } from './service-account.js';

type Json = Record<string, unknown>;

const ATTEMPTS = 4;
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
    private readonly backoffMs = 500,
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
        if (error instanceof SourceError) throw error;
        if (attempt < ATTEMPTS) {
          await sleep(this.backoffMs * 2 ** (attempt - 1));
          continue;
        }
        throw new SourceError(`${where} failed after ${attempt} tries: ${(error as Error).message}`, {}, { cause: error });
      }
      const status = response.status;
      if (status === 404 && missingIsNull) return null;
      if ((status === 429 || status >= 500) && attempt < ATTEMPTS) {
        await sleep(this.backoffMs * 2 ** (attempt - 1));
        continue;
      }
      let body: unknown;
      try {
        body = JSON.parse(response.body);
      } catch {
        throw new SourceError(`${where}: HTTP ${status}, and the answer is not JSON: "${redact(response.body.replace(/\s+/g, ' ')).slice(0, 120)}"`);
      }
      if (status !== 200 || !body || typeof body !== 'object' || Array.isArray(body)) {
        const error = (body as { error?: { message?: unknown } } | null)?.error;
        const message = typeof error?.message === 'string' ? error.message : 'not a JSON object';
        throw new SourceError(`${where}: HTTP ${status}: ${message}${attempt > 1 ? ` (after ${attempt} tries)` : ''}`);
      }
      return body as Json;
    }
  }
}
