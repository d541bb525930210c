/**
 * Changes that take effect later: an event that named a person with a future effective date (a
 * termination on the last day of the month) waits here until that instant, across restarts. The
 * service asks `next()` when to wake, takes `due(now)`, re-reads and plans those people like any
 * other hint, then calls `done` with what it processed. Nothing here decides anything: an entry is
 * only "look at this person again at this time".
 *
 * Embedded: `<stateDir>/due-changes.json`, rewritten atomically on each change (few entries: a
 * handful of future-dated changes a day). Calls are queued, so concurrent adds never lose one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { ensureStateDir, explainCode } from './state-dir.js';

export interface DueChange {
  /** The events endpoint it came from (`events.<name>`). */
  readonly endpoint: string;
  readonly eventId: string;
  /** The person's source key. */
  readonly key: string;
  readonly effectiveAt: Date;
}

export interface DueChanges {
  /** Keeps each change until `done`; adding one again (same endpoint, event id and key) replaces it. */
  add(changes: readonly DueChange[]): Promise<void>;
  /** Every change whose instant is at or before `now`, earliest first. Nothing is removed. */
  due(now: Date): Promise<DueChange[]>;
  /** The earliest instant kept (of the changes `include` takes, default all), or undefined when none: when the service should wake. */
  next(include?: (change: DueChange) => boolean): Promise<Date | undefined>;
  /** Removes these changes (processed), each only if still kept with the same instant. Others are ignored. */
  done(changes: readonly DueChange[]): Promise<void>;
}

export interface FileDueChangesOptions {
  /** Changes kept at most; an add past it fails (StateError) rather than dropping one. Default 100000. */
  maxEntries?: number;
}

interface Stored {
  endpoint: string;
  eventId: string;
  key: string;
  effectiveAt: string;
}

const identity = (c: { endpoint: string; eventId: string; key: string }) => JSON.stringify([c.endpoint, c.eventId, c.key]);

function parseStored(file: string, value: unknown): DueChange {
  const v = value as Stored;
  const at = v && typeof v.effectiveAt === 'string' ? new Date(v.effectiveAt) : new Date(NaN);
  if (typeof v?.endpoint !== 'string' || typeof v.eventId !== 'string' || typeof v.key !== 'string' || Number.isNaN(at.getTime())) {
    throw new StateError(`${file} holds a damaged entry; fix or remove it (removing it forgets the future-dated changes: the next full cycle still finds them)`);
  }
  return { endpoint: v.endpoint, eventId: v.eventId, key: v.key, effectiveAt: at };
}

export class FileDueChanges implements DueChanges {
  private readonly file: string;
  private readonly maxEntries: number;
  private changes: Map<string, DueChange> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string, options: FileDueChangesOptions = {}) {
    this.file = join(stateDir, 'due-changes.json');
    this.maxEntries = options.maxEntries ?? 100_000;
    ensureStateDir(stateDir);
  }

  /** Runs `op` after every call before it: one read-modify-write at a time. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<Map<string, DueChange>> {
    if (this.changes) return this.changes;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateError(`cannot read ${this.file}: ${explainCode(error)}`, {}, { cause: error });
      this.changes = new Map();
      return this.changes;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new StateError(`${this.file} is not valid JSON: ${(error as Error).message}`, {}, { cause: error });
    }
    const list = (data as { changes?: unknown } | null)?.changes;
    if (!Array.isArray(list)) throw new StateError(`${this.file} is damaged (not a due-changes file): fix or remove it`);
    this.changes = new Map(list.map((v) => parseStored(this.file, v)).map((c) => [identity(c), c]));
    return this.changes;
  }

  private async write(changes: Map<string, DueChange>): Promise<void> {
    const stored: Stored[] = [...changes.values()].map((c) => ({ endpoint: c.endpoint, eventId: c.eventId, key: c.key, effectiveAt: c.effectiveAt.toISOString() }));
    try {
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, changes: stored })}\n`);
    } catch (error) {
      throw new StateError(`cannot write ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
  }

  add(changes: readonly DueChange[]): Promise<void> {
    return this.serial(async () => {
      if (changes.length === 0) return;
      const kept = await this.load();
      const next = new Map(kept);
      for (const c of changes) next.set(identity(c), { endpoint: c.endpoint, eventId: c.eventId, key: c.key, effectiveAt: new Date(c.effectiveAt.getTime()) });
      if (next.size > this.maxEntries) {
        throw new StateError(`${this.file} already holds ${kept.size} future-dated changes (at most ${this.maxEntries}); not adding ${changes.length} more`);
      }
      // The file first: memory changes only once the change is stored.
      await this.write(next);
      this.changes = next;
    });
  }

  due(now: Date): Promise<DueChange[]> {
    return this.serial(async () =>
      [...(await this.load()).values()].filter((c) => c.effectiveAt.getTime() <= now.getTime()).sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime()),
    );
  }

  next(include: (change: DueChange) => boolean = () => true): Promise<Date | undefined> {
    return this.serial(async () => {
      let earliest: Date | undefined;
      for (const c of (await this.load()).values()) if (include(c) && (!earliest || c.effectiveAt < earliest)) earliest = c.effectiveAt;
      return earliest;
    });
  }

  done(changes: readonly DueChange[]): Promise<void> {
    return this.serial(async () => {
      const kept = await this.load();
      const next = new Map(kept);
      for (const c of changes) {
        // Only the entry that was processed: one replaced since (a moved date) stays.
        const id = identity(c);
        if (next.get(id)?.effectiveAt.getTime() === c.effectiveAt.getTime()) next.delete(id);
      }
      if (next.size === kept.size) return;
      await this.write(next);
      this.changes = next;
    });
  }
}
