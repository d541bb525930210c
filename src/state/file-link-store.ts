/**
 * The embedded link store: a snapshot file plus an append-only journal in the state directory.
 * Each change is in the journal when `set` resolves (line-appender.ts: the changes of one turn of
 * the event loop go out in one write), so it survives a crash of the run. `flush` folds the journal
 * into a new snapshot written atomically, then empties the journal.
 *
 * Layout (version 3): links.json is one JSON document written a part per line,
 *   {"version":3,"parts":[
 *   ["<target>/<kind>",[externalId,id,hash,externalId,id,hash,...]],
 *   ...
 *   ]}
 * each part at most PART_LINKS links of one table (a table spans as many parts as it needs), and
 * links.journal JSON lines of [target, kind, externalId, Link | null]. The parts let the snapshot be
 * read a line at a time, giving the event loop back between them: the store is loaded in the
 * background while a command starts its reads (a target's listing goes on while 100,000 links are
 * decoded, where it waited some 300 ms for them: FileLinkStoreOptions.background), and every
 * method waits for the load. The document stays valid JSON, so a file laid out otherwise
 * (reformatted by hand) is read whole, and a build that knows only version 2 finds no tables in
 * it, reads the version and says the file is a newer scim-sync's.
 * Versions 1 ({ "<externalId>": { id, hash } } per table) and 2 (a flat list per table, under an
 * object keyed by table) are still read, and written as version 3 at the next flush.
 *
 * Read-only (plan, check): snapshot and journal are read, nothing is created, folded or emptied, so
 * a read-only command never replaces the links of a run going on beside it, and works on a state
 * directory it cannot write.
 */
import { readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { redact } from '../config/secret.js';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { LineAppender } from './line-appender.js';
import type { Link, LinkCounts, LinkInventory, LinkStore, ResourceKind } from './link-store.js';
import { ensureStateDir, explainCode } from './state-dir.js';
import { checkStateShape, parseStateJson, stateJson, type StateShape } from './state-json.js';

/** The layout flush writes; load reads it and every one before it. */
const SNAPSHOT_VERSION = 3;
/** Links in one part (line) of a version 3 snapshot: a line well under V8's large-object size (128 KiB) at usual id lengths. */
const PART_LINKS = 1000;
const PARTS_OPEN = `{"version":${SNAPSHOT_VERSION},"parts":[`;
const PARTS_CLOSE = ']}';

const BAD_TABLE = 'expected a list of externalId, id and hash, three strings a link';
const BAD_TABLE_V1 = 'expected links by externalId, each {id, hash}';

const isLink = (l: unknown): l is Link => typeof l === 'object' && l !== null && typeof (l as Partial<Link>).id === 'string' && typeof (l as Partial<Link>).hash === 'string';

/**
 * Version 1's table (links by externalId, each {id, hash}) added to `table`, checked as they are put
 * in it (one plain loop: a snapshot holds one entry per person and target, and a schema object per
 * link, or a second pass over 100,000 of them, would cost more than reading the file); false when
 * one is not a link.
 */
function addLinks(table: Map<string, Link>, value: Record<string, unknown>): boolean {
  // for-in rather than Object.keys (which collects and sorts a dictionary-mode object's keys first):
  // same order, about a third less time over 100,000 links. Own keys only, as Object.keys gives.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const l = value[key];
    if (!isLink(l)) return false;
    table.set(key, l);
  }
  return true;
}

/** Adds externalId, id and hash in a row, for each link, to `table`; false (the table half filled) when `value` is not that. */
function addFlatLinks(table: Map<string, Link>, value: readonly unknown[]): boolean {
  if (value.length % 3 !== 0) return false;
  for (let i = 0; i < value.length; i += 3) {
    const externalId = value[i];
    const id = value[i + 1];
    const hash = value[i + 2];
    if (typeof externalId !== 'string' || typeof id !== 'string' || typeof hash !== 'string') return false;
    table.set(externalId, { id, hash });
  }
  return true;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One part of a version 3 snapshot: a table's name and some of its links, flat. */
type Part = [table: string, links: unknown[]];

/**
 * The file's shape, any version (the version is checked first: a newer one may look otherwise);
 * each table's links are checked as they are loaded (addFlatLinks, addLinks for version 1).
 */
const snapshotShape: StateShape<{ version?: number; links?: Record<string, Record<string, unknown> | unknown[]>; parts?: Part[] }> = {
  schema: z.object({
    version: z.number().int().positive().optional(),
    links: z.record(z.string(), z.custom<Record<string, unknown> | unknown[]>((v) => Array.isArray(v) || isObject(v), BAD_TABLE)).optional(),
    parts: z.array(z.tuple([z.string(), z.array(z.unknown())])).optional(),
  }),
  what: 'a link store snapshot',
  fix: 'restore it from backup or remove it to relink by externalId',
};

export interface FileLinkStoreOptions {
  /** Read snapshot and journal, write nothing (a missing directory reads as no links). */
  readOnly?: boolean;
  /**
   * Open at once and read the links in the background (see the header): a damaged file fails
   * loaded() and every method instead of open. Without it, open resolves once they are read.
   */
  background?: boolean;
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
  if (link !== null && !isLink(link)) return null;
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
  /** The snapshot and journal read into `tables` (open starts it; every method waits for it). */
  private loading: Promise<void> = Promise.resolve();

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
    store.loading = store.load();
    if (options.background) store.loading.catch(() => undefined); // every method's failure, and loaded()'s
    else await store.loading;
    // A journal that cannot be opened is found before anything is done.
    if (!options.readOnly) store.journal.open();
    return store;
  }

  loaded(): Promise<void> {
    return this.loading;
  }

  private table(target: string, kind: ResourceKind): Map<string, Link> {
    return this.tableNamed(`${target}/${kind}`);
  }

  private tableNamed(name: string): Map<string, Link> {
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
    const text = await this.read(this.snapshotFile);
    if (text !== null && !(await this.loadParts(text))) this.loadWhole(text);
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

  /**
   * A version 3 snapshot as flush lays it out, a part per line, with a turn of the event loop
   * between parts; false (nothing kept) when the text is laid out otherwise, for loadWhole to read.
   */
  private async loadParts(text: string): Promise<boolean> {
    const lines = text.split('\n');
    if (lines.length < 2 || lines[0] !== PARTS_OPEN || lines[lines.length - 1] !== PARTS_CLOSE) return false;
    const last = lines.length - 2;
    for (let i = 1; i <= last; i++) {
      const line = lines[i]!;
      let part: unknown;
      try {
        part = JSON.parse(i < last ? (line.endsWith(',') ? line.slice(0, -1) : '') : line);
      } catch {
        part = undefined;
      }
      if (!Array.isArray(part) || part.length !== 2 || typeof part[0] !== 'string' || !Array.isArray(part[1]) || !addFlatLinks(this.tableNamed(part[0]), part[1] as unknown[])) {
        this.tables.clear();
        return false;
      }
      await nextTurn();
    }
    return true;
  }

  /** The snapshot parsed as one JSON document: any version, any layout; a StateError for one it cannot read. */
  private loadWhole(text: string): void {
    const where = this.snapshotFile;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      parseStateJson(text, where, snapshotShape); // throws, naming the file and what JSON.parse said
    }
    const version = isObject(data) ? data['version'] : undefined;
    // A layout this build does not know is not damage: it was written by a newer scim-sync.
    if (typeof version === 'number' && version > SNAPSHOT_VERSION) {
      throw new StateError(`${where} was written by a newer scim-sync (link store version ${version}; this one reads versions 1 to ${SNAPSHOT_VERSION}): run that version, or remove the file to relink by externalId`);
    }
    const snapshot = checkStateShape(data, where, snapshotShape);
    // As the shape's own check would say it (parseStateJson): the file, what it is not, the table, what to do.
    const damaged = (at: string, expected: string) => new StateError(`${where} is damaged (not ${snapshotShape.what}: ${at}: ${expected}): ${snapshotShape.fix}`);
    for (const [name, links] of Object.entries(snapshot.links ?? {})) {
      const flat = Array.isArray(links);
      const table = this.tableNamed(name);
      if (flat ? !addFlatLinks(table, links) : !addLinks(table, links)) throw damaged(`links.${name}`, flat ? BAD_TABLE : BAD_TABLE_V1);
    }
    (snapshot.parts ?? []).forEach(([name, links], i) => {
      if (!addFlatLinks(this.tableNamed(name), links)) throw damaged(`parts.${i}`, BAD_TABLE);
    });
  }

  private apply([target, kind, externalId, link]: Entry): void {
    const t = this.table(target, kind);
    if (link) t.set(externalId, link);
    else t.delete(externalId);
  }

  private async record(entry: Entry): Promise<void> {
    if (this.options.readOnly) throw new StateError(`the link store ${this.snapshotFile} is open read-only`);
    await this.loading;
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
    await this.loading;
    // Read-only, the table never changes (set and delete refuse): no copy of 100,000 links per plan.
    if (this.options.readOnly) return this.table(target, kind);
    return new Map(this.table(target, kind));
  }

  async get(target: string, kind: ResourceKind, externalId: string): Promise<Link | undefined> {
    await this.loading;
    return this.table(target, kind).get(externalId);
  }

  set(target: string, kind: ResourceKind, externalId: string, link: Link): Promise<void> {
    return this.record([target, kind, externalId, link]);
  }

  delete(target: string, kind: ResourceKind, externalId: string): Promise<void> {
    return this.record([target, kind, externalId, null]);
  }

  async linkedTargets(): Promise<Map<string, LinkCounts>> {
    await this.loading;
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
    await this.loading;
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
    try {
      await this.loading;
    } catch {
      // Never written over when it was not read whole: its links would be lost (the load's error is
      // every other method's).
      return;
    }
    const parts: string[] = [];
    for (const [name, table] of this.tables) {
      let flat: string[] = [];
      for (const [externalId, link] of table) {
        flat.push(externalId, link.id, link.hash);
        if (flat.length === PART_LINKS * 3) {
          parts.push(JSON.stringify([name, flat]));
          flat = [];
        }
      }
      if (flat.length > 0) parts.push(JSON.stringify([name, flat]));
    }
    // JSON.stringify escapes every newline in a value, so each part stays on its line; through the
    // redactor, as stateJson writes the other state files.
    const text = parts.length === 0 ? `${PARTS_OPEN}\n${PARTS_CLOSE}` : `${PARTS_OPEN}\n${parts.join(',\n')}\n${PARTS_CLOSE}`;
    try {
      await writeFileAtomic(this.snapshotFile, redact(text));
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
