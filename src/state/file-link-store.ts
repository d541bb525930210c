/**
 * The embedded link store: a snapshot file plus an append-only journal in the state directory.
 * Each change is in the journal when `set` resolves (line-appender.ts: the changes of one turn of
 * the event loop go out in one write), so it survives a crash of the run. `flush` folds the journal
 * into a new snapshot written atomically, then empties the journal.
 * Layout: links.json = { version: 2, links: { "<target>/<kind>": [externalId, id, hash, externalId, id, hash, ...] } },
 * links.journal = JSON lines of [target, kind, externalId, Link | null]. Version 1 (still read, and
 * written as version 2 at the next flush) held each table as { "<externalId>": { id, hash } }: an
 * object of 100,000 keys that JSON.parse builds key by key into a hash table and that was then
 * copied into a Map, about 2.5 times the time of the flat list (some 300 ms of every command that
 * opens 100,000 links).
 *
 * Read-only (plan, check): snapshot and journal are read, nothing is created, folded or emptied, so
 * a read-only command never replaces the links of a run going on beside it, and works on a state
 * directory it cannot write.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { LineAppender } from './line-appender.js';
import type { Link, LinkCounts, LinkInventory, LinkStore, ResourceKind } from './link-store.js';
import { ensureStateDir, explainCode } from './state-dir.js';
import { readStateFile, stateJson, type StateShape } from './state-json.js';

/** The layout flush writes; load reads it and every one before it. */
const SNAPSHOT_VERSION = 2;

const BAD_TABLE = 'expected a list of externalId, id and hash, three strings a link';
const BAD_TABLE_V1 = 'expected links by externalId, each {id, hash}';

/**
 * One table's links as a map, checked as they are put in it (one plain loop: a snapshot holds one
 * entry per person and target, and a schema object per link, or a second pass over 100,000 of them,
 * would cost more than reading the file); null when one is not a link.
 */
function linkTable(value: Record<string, unknown>): Map<string, Link> | null {
  const table = new Map<string, Link>();
  // for-in rather than Object.keys (which collects and sorts a dictionary-mode object's keys first):
  // same order, about a third less time over 100,000 links. Own keys only, as Object.keys gives.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const l = value[key] as Partial<Link> | null;
    if (typeof l !== 'object' || l === null || typeof l.id !== 'string' || typeof l.hash !== 'string') return null;
    table.set(key, l as Link);
  }
  return table;
}

/** One table as written since version 2: externalId, id and hash in a row, for each link; null when it is not that. */
function flatLinkTable(value: readonly unknown[]): Map<string, Link> | null {
  if (value.length % 3 !== 0) return null;
  const table = new Map<string, Link>();
  for (let i = 0; i < value.length; i += 3) {
    const externalId = value[i];
    const id = value[i + 1];
    const hash = value[i + 2];
    if (typeof externalId !== 'string' || typeof id !== 'string' || typeof hash !== 'string') return null;
    table.set(externalId, { id, hash });
  }
  return table;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The file's shape; each table's links are checked by flatLinkTable (linkTable for version 1) as they are loaded. */
const snapshotShape: StateShape<{ version?: number; links?: Record<string, Record<string, unknown> | unknown[]> }> = {
  schema: z.object({
    version: z.number().int().positive().optional(),
    links: z.record(z.string(), z.custom<Record<string, unknown> | unknown[]>((v) => Array.isArray(v) || isObject(v), BAD_TABLE)).optional(),
  }),
  what: 'a link store snapshot',
  fix: 'restore it from backup or remove it to relink by externalId',
};

export interface FileLinkStoreOptions {
  /** Read snapshot and journal, write nothing (a missing directory reads as no links). */
  readOnly?: boolean;
  /**
   * Told of a journal write that failed, instead of failing the `set` that made the change: that
   * change reached the target already, and the listener stops the run. Without it, `set` rejects.
   */
  onFailure?: (error: Error) => void;
}

type Entry = [target: string, kind: ResourceKind, externalId: string, link: Link | null];

/** A journal line as a link change, or null when it is not one. */
function journalEntry(line: string): Entry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 4) return null;
  const [target, kind, externalId, link] = value as unknown[];
  if (typeof target !== 'string' || (kind !== 'user' && kind !== 'group') || typeof externalId !== 'string') return null;
  if (link !== null && linkTable({ link }) === null) return null;
  return value as Entry;
}

/**
 * A line that cannot be read because a write stopped inside it: the file's last, one a later append
 * ended (a change cut short), or NUL bytes a file system left where a write had not landed before a
 * power loss.
 */
function isTorn(line: string, index: number, lines: readonly string[]): boolean {
  const last = lines.slice(index + 1).every((l) => l.trim() === '');
  if (last || line.includes('\0')) return true;
  try {
    JSON.parse(line);
    return false;
  } catch {
    return line.startsWith('[');
  }
}

export class FileLinkStore implements LinkStore, LinkInventory {
  private readonly tables = new Map<string, Map<string, Link>>();
  private readonly snapshotFile: string;
  private readonly journalFile: string;
  private readonly journal: LineAppender;

  private constructor(
    dir: string,
    private readonly options: FileLinkStoreOptions,
  ) {
    this.snapshotFile = join(dir, 'links.json');
    this.journalFile = join(dir, 'links.journal');
    this.journal = new LineAppender(
      this.journalFile,
      (code, cause) => new StateError(`cannot write the link journal ${this.journalFile}: ${explainCode(code)}`, {}, { cause }),
      options.onFailure,
    );
  }

  static async open(dir: string, options: FileLinkStoreOptions = {}): Promise<FileLinkStore> {
    if (!options.readOnly) ensureStateDir(dir);
    const store = new FileLinkStore(dir, options);
    await store.load();
    // A journal that cannot be opened is found before anything is done.
    if (!options.readOnly) store.journal.open();
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

  /** The file's text, null when it (or the directory) does not exist. */
  private async read(file: string): Promise<string | null> {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StateError(`cannot read the link store ${file}: ${explainCode(error)}`, {}, { cause: error });
    }
  }

  private async load(): Promise<void> {
    const snapshot = await readStateFile(this.snapshotFile, snapshotShape, {});
    // A layout this build does not know is not damage: it was written by a newer scim-sync.
    if ((snapshot.version ?? 1) > SNAPSHOT_VERSION) {
      throw new StateError(`${this.snapshotFile} was written by a newer scim-sync (link store version ${snapshot.version}; this one reads versions 1 to ${SNAPSHOT_VERSION}): run that version, or remove the file to relink by externalId`);
    }
    for (const [name, links] of Object.entries(snapshot.links ?? {})) {
      const flat = Array.isArray(links);
      const table = flat ? flatLinkTable(links) : linkTable(links);
      // As the shape's own check would say it (parseStateJson): the file, what it is not, the table, what to do.
      if (!table) throw new StateError(`${this.snapshotFile} is damaged (not ${snapshotShape.what}: links.${name}: ${flat ? BAD_TABLE : BAD_TABLE_V1}): ${snapshotShape.fix}`);
      this.tables.set(name, table);
    }
    const journal = (await this.read(this.journalFile)) ?? '';
    const lines = journal.split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const entry = journalEntry(line);
      if (entry) return this.apply(entry);
      // A crash mid-append leaves a torn line, which the next append ends (line-appender.ts): skipped.
      // Anything else (an edit, a bad copy) is damage: a deletion skipped would bring back a stale link.
      if (isTorn(line, i, lines)) return;
      throw new StateError(`${this.journalFile}:${i + 1} is damaged (not a link change: expected [target, kind, externalId, {id, hash} or null]): restore the state from backup, or remove the file to relink by externalId`);
    });
  }

  private apply([target, kind, externalId, link]: Entry): void {
    const t = this.table(target, kind);
    if (link) t.set(externalId, link);
    else t.delete(externalId);
  }

  private async record(entry: Entry): Promise<void> {
    if (this.options.readOnly) throw new StateError(`the link store ${this.snapshotFile} is open read-only`);
    // In memory at once; should the journal fail, the change still reaches the snapshot at flush.
    this.apply(entry);
    // A torn last line a crash left is ended by the appender first (line-appender.ts).
    this.journal.append(`${stateJson(entry)}\n`);
    try {
      await this.journal.written();
    } catch (error) {
      if (!this.options.onFailure) throw error;
    }
  }

  async snapshot(target: string, kind: ResourceKind): Promise<Map<string, Link>> {
    // Read-only, the table never changes (set and delete refuse): no copy of 100,000 links per plan.
    if (this.options.readOnly) return this.table(target, kind);
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

  async linkedTargets(): Promise<Map<string, LinkCounts>> {
    const counts = new Map<string, LinkCounts>();
    for (const [name, table] of this.tables) {
      if (table.size === 0) continue;
      const cut = name.lastIndexOf('/');
      const target = name.slice(0, cut);
      const entry = counts.get(target) ?? { users: 0, groups: 0 };
      if (name.slice(cut + 1) === 'group') entry.groups += table.size;
      else entry.users += table.size;
      counts.set(target, entry);
    }
    return counts;
  }

  /** One journal line per link, as any other deletion: a crash half-way leaves the rest to drop again. */
  async forgetTarget(target: string): Promise<LinkCounts> {
    const dropped = { users: 0, groups: 0 };
    for (const kind of ['user', 'group'] as const) {
      const ids = [...this.table(target, kind).keys()];
      await Promise.all(ids.map((id) => this.delete(target, kind, id)));
      dropped[kind === 'user' ? 'users' : 'groups'] = ids.length;
    }
    return dropped;
  }

  async flush(): Promise<void> {
    if (this.options.readOnly) return;
    const links: Record<string, string[]> = {};
    for (const [name, table] of this.tables) {
      const flat: string[] = [];
      for (const [externalId, link] of table) flat.push(externalId, link.id, link.hash);
      links[name] = flat;
    }
    try {
      await writeFileAtomic(this.snapshotFile, stateJson({ version: SNAPSHOT_VERSION, links }));
    } catch (error) {
      throw new StateError(`cannot write the link store ${this.snapshotFile}: ${explainCode(error)}`, {}, { cause: error });
    }
    // Everything in the journal, this run's changes and any an earlier run left, is now in the snapshot.
    this.journal.truncate();
    this.journal.close();
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
