/**
 * The embedded link store: a snapshot file plus an append-only journal in the state directory.
 * Each change is appended to the journal at once (cheap, and survives a crash mid-run); `flush`
 * folds the journal into a new snapshot written atomically, then empties the journal.
 * Layout: links.json = { version: 1, links: { "<target>/<kind>": { "<externalId>": Link } } },
 * links.journal = JSON lines of [target, kind, externalId, Link | null].
 */
import { mkdirSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import type { Link, LinkStore, ResourceKind } from './link-store.js';

type Entry = [target: string, kind: ResourceKind, externalId: string, link: Link | null];

export class FileLinkStore implements LinkStore {
  private readonly tables = new Map<string, Map<string, Link>>();
  private readonly snapshotFile: string;
  private readonly journalFile: string;
  private pending: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  /** Open for appending from the first change until flush: one open per run, not per write. */
  private journal: FileHandle | null = null;

  private constructor(dir: string) {
    this.snapshotFile = join(dir, 'links.json');
    this.journalFile = join(dir, 'links.journal');
  }

  static async open(dir: string): Promise<FileLinkStore> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const store = new FileLinkStore(dir);
    await store.load();
    return store;
  }

  private table(target: string, kind: ResourceKind): Map<string, Link> {
    const name = `${target}/${kind}`;
    let t = this.tables.get(name);
    if (!t) {
      t = new Map();
      this.tables.set(name, t);
    }
    return t;
  }

  private async load(): Promise<void> {
    const snapshot = await readFile(this.snapshotFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (snapshot !== null) {
      let parsed: { version?: number; links?: Record<string, Record<string, Link>> };
      try {
        parsed = JSON.parse(snapshot) as typeof parsed;
      } catch {
        throw new StateError(`link store ${this.snapshotFile} is corrupt; restore it from backup or remove it to relink by externalId`);
      }
      for (const [name, links] of Object.entries(parsed.links ?? {})) this.tables.set(name, new Map(Object.entries(links)));
    }
    const journal = await readFile(this.journalFile, 'utf8').catch(() => '');
    for (const line of journal.split('\n')) {
      if (line.trim() === '') continue;
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        // A crash mid-append leaves at most one torn last line; everything before it is whole.
        continue;
      }
      this.apply(entry);
    }
  }

  private apply([target, kind, externalId, link]: Entry): void {
    const t = this.table(target, kind);
    if (link) t.set(externalId, link);
    else t.delete(externalId);
  }

  private record(entry: Entry): Promise<void> {
    this.apply(entry);
    this.pending.push(`${JSON.stringify(entry)}\n`);
    // Appends are chained and batched: one write carries every change made while the last ran.
    this.writing = this.writing.then(async () => {
      if (this.pending.length === 0) return;
      const batch = this.pending.join('');
      this.pending = [];
      this.journal ??= await open(this.journalFile, 'a', 0o600);
      await this.journal.write(batch);
    });
    return this.writing;
  }

  async snapshot(target: string, kind: ResourceKind): Promise<Map<string, Link>> {
    return new Map(this.table(target, kind));
  }

  async get(target: string, kind: ResourceKind, externalId: string): Promise<Link | undefined> {
    return this.table(target, kind).get(externalId);
  }

  set(target: string, kind: ResourceKind, externalId: string, link: Link): Promise<void> {
    return this.record([target, kind, externalId, link]);
  }

  delete(target: string, kind: ResourceKind, externalId: string): Promise<void> {
    return this.record([target, kind, externalId, null]);
  }

  async flush(): Promise<void> {
    await this.writing;
    const links: Record<string, Record<string, Link>> = {};
    for (const [name, table] of this.tables) links[name] = Object.fromEntries(table);
    await writeFileAtomic(this.snapshotFile, JSON.stringify({ version: 1, links }));
    if (this.journal) {
      // Everything in the journal is now in the snapshot.
      await this.journal.truncate(0);
      await this.journal.close();
      this.journal = null;
    }
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
