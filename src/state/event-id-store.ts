/**
 * Inbound event ids already taken, so a delivery seen again (a vendor's retry, a replay) does
 * nothing twice. The embedded store keeps them in `<stateDir>/event-ids.journal`: one line per id,
 * appended before `seen` resolves, so a restart remembers them; expired lines are dropped when the
 * journal is rewritten. Distributed mode keeps them in Redis (SET NX PX), behind the same interface.
 *
 * Ids are stored hashed with their endpoint: fixed size whatever a sender puts in them, and no
 * vendor text in our files.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { LineAppender } from './line-appender.js';
import { ensureStateDir, explainCode } from './state-dir.js';

export interface EventIdStore {
  /**
   * True when `id` was seen on `endpoint` within its time to live; otherwise records it, for
   * `ttlMs`, and answers false. Check and record are one step: of two concurrent calls with the
   * same id, exactly one answers false.
   */
  seen(endpoint: string, id: string, ttlMs: number): Promise<boolean>;
  /**
   * Forgets a recorded id: the event could not be taken after all (its future changes could not
   * be stored), so the sender's retry must be processed, not answered as a duplicate.
   */
  forget(endpoint: string, id: string): Promise<void>;
}

export interface FileEventIdStoreOptions {
  /** Ids kept at most; past it the oldest recorded go first (a replay of one is processed again: harmless, events are hints). Default 100000. */
  maxEntries?: number;
  /** The clock, for tests. Default Date.now. */
  now?: () => number;
}

/** The stored form of (endpoint, id): 128 bits of SHA-256, base64url. */
function storedKey(endpoint: string, id: string): string {
  return createHash('sha256').update(endpoint).update('\0').update(id).digest('base64url').slice(0, 22);
}

type Line = [key: string, expiresAtMs: number];

export class FileEventIdStore implements EventIdStore {
  /** Key -> expiry; insertion order is recording order, which eviction follows. */
  private readonly ids = new Map<string, number>();
  private readonly file: string;
  private readonly journal: LineAppender;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private lines = 0;
  /**
   * No id kept expires before this (a lower bound: lowered as ids are recorded, made exact by each
   * scan). Eviction looks for expired ids only once one may exist: scanning every id at each new
   * one, once the store was full of unexpired ids, cost the whole map per event.
   */
  private noExpiryBefore = 0;
  /** Line count at which the journal is next rewritten: the rewrite's cost is spread over at least as many appends. */
  private nextRewrite = 1000;

  private constructor(dir: string, options: FileEventIdStoreOptions) {
    this.file = join(dir, 'event-ids.journal');
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
    this.journal = new LineAppender(this.file, (code, cause) => new StateError(`cannot write the event id journal ${this.file}: ${explainCode(code)}`, {}, { cause }));
  }

  static open(stateDir: string, options: FileEventIdStoreOptions = {}): FileEventIdStore {
    ensureStateDir(stateDir);
    const store = new FileEventIdStore(stateDir, options);
    store.load();
    store.journal.open();
    return store;
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StateError(`cannot read the event id journal ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
    // A crash mid-append leaves a torn last line: skipped (the appender ends it before the next line).
    const now = this.now();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      this.lines++;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      if (!Array.isArray(parsed)) continue;
      const [key, expires] = parsed as Line;
      if (typeof key !== 'string') continue;
      // expires 0 is a forget line.
      this.ids.delete(key);
      if (typeof expires === 'number' && expires > now) this.ids.set(key, expires);
    }
  }

  async seen(endpoint: string, id: string, ttlMs: number): Promise<boolean> {
    const key = storedKey(endpoint, id);
    const now = this.now();
    const expires = this.ids.get(key);
    if (expires !== undefined && expires > now) return true;
    // Recorded before the first await: a concurrent call with the same id sees it.
    this.ids.delete(key);
    this.ids.set(key, now + ttlMs);
    this.noExpiryBefore = Math.min(this.noExpiryBefore, now + ttlMs);
    this.evict(now);
    try {
      await this.append([key, now + ttlMs]);
    } catch (error) {
      // Not recorded, so not seen: the sender's retry must be handled, not answered as a duplicate.
      this.ids.delete(key);
      throw error;
    }
    return false;
  }

  async forget(endpoint: string, id: string): Promise<void> {
    const key = storedKey(endpoint, id);
    if (!this.ids.delete(key)) return;
    await this.append([key, 0]);
  }

  private evict(now: number): void {
    if (this.ids.size <= this.maxEntries) return;
    // Expired ones anywhere go first (all of them, they count for nothing); then the oldest recorded.
    if (now >= this.noExpiryBefore) {
      let soonest = Infinity;
      for (const [key, expires] of this.ids) {
        if (expires <= now) this.ids.delete(key);
        else if (expires < soonest) soonest = expires;
      }
      this.noExpiryBefore = soonest;
    }
    for (const key of this.ids.keys()) {
      if (this.ids.size <= this.maxEntries) break;
      this.ids.delete(key);
    }
  }

  private async append(line: Line): Promise<void> {
    // The rewrite is made from memory, which holds this change already: nothing left to append.
    if (this.lines >= this.nextRewrite) return this.compact();
    this.journal.append(`${JSON.stringify(line)}\n`);
    this.lines++;
    await this.journal.written();
  }

  /**
   * Rewrites the journal with the ids still alive. Synchronous from closing the appender to the
   * rename, so no append can land in the file being replaced; the next append opens the new one.
   */
  private compact(): void {
    this.journal.close();
    const now = this.now();
    const live = [...this.ids].filter(([, expires]) => expires > now);
    const text = live.map((l) => `${JSON.stringify(l)}\n`).join('');
    const tmp = `${this.file}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeFileSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    } catch (error) {
      try {
        unlinkSync(tmp);
      } catch {
        // Nothing was left behind.
      }
      throw new StateError(`cannot rewrite the event id journal ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
    this.ids.clear();
    for (const [key, expires] of live) this.ids.set(key, expires);
    this.lines = live.length;
    this.nextRewrite = live.length + Math.max(1000, live.length);
  }

  /** Writes what is queued and closes the journal. */
  close(): void {
    this.journal.close();
  }
}
