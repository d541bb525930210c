/**
 * The embedded link store: a snapshot file plus an append-only journal in the state directory.
 * Each change is in the journal when `set` resolves (line-appender.ts: the changes of one turn of
 * the event loop go out in one write), so it survives a crash of the run. `flush` folds the journal
 * into a new snapshot written atomically, then empties the journal.
 * Layout: links.json = { version: 1, links: { "<target>/<kind>": { "<externalId>": Link } } },
 * links.journal = JSON lines of [target, kind, externalId, Link | null].
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { LineAppender } from './line-appender.js';
import type { Link, LinkStore, ResourceKind } from './link-store.js';

type Entry = [target: string, kind: ResourceKind, externalId: string, link: Link | null];

export class FileLinkStore implements LinkStore {
  private readonly tables = new Map<string, Map<string, Link>>();
  private readonly snapshotFile: string;
  private readonly journalFile: string;
  private readonly journal: LineAppender;
  private tornTail = false;

  private constructor(dir: string) {
    this.snapshotFile = join(dir, 'links.json');
    this.journalFile = join(dir, 'links.journal');
    this.journal = new LineAppender(this.journalFile, (code) => new StateError(`link journal ${this.journalFile}: cannot append (${code})`));
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
    // A crash mid-append leaves a torn last line: the next append must not continue it.
    this.tornTail = journal !== '' && !journal.endsWith('\n');
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
    // In memory at once; should the journal fail, the change still reaches the snapshot at flush.
    this.apply(entry);
    this.journal.append(`${this.tornTail ? '\n' : ''}${JSON.stringify(entry)}\n`);
    this.tornTail = false;
    return this.journal.written();
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
    const links: Record<string, Record<string, Link>> = {};
    for (const [name, table] of this.tables) links[name] = Object.fromEntries(table);
    await writeFileAtomic(this.snapshotFile, JSON.stringify({ version: 1, links }));
    // Everything in the journal, this run's changes and any an earlier run left, is now in the snapshot.
    this.journal.truncate();
    this.journal.close();
    this.tornTail = false;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
