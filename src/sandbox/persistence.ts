import { appendFile, chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ScimResource } from '../model/scim.js';
import type { StoreChange, StoreSnapshot } from './resource-store.js';

/**
 * Persistence of the sandbox's dataFile: a snapshot (the JSON document, written whole and atomically)
 * and beside it a journal (`<dataFile>.journal`, one JSON line per change) that every change is
 * appended to, debounced. A change costs the resource it changes, not the store: re-saving the whole
 * file on every debounced write made a 100,000-user fill crawl. (A group's line holds the whole
 * group, members included: a group filled one member at a time writes its size each time.)
 *
 * Reading replays the journal over the snapshot. The journal is folded into a new snapshot when it
 * has more lines than the snapshot has resources, or more than twice its bytes (at least 64 MiB):
 * so the work stays proportional to the changes, and a journal of large groups' lines stays a
 * file that can be read back (a string has a length limit). Also on close,
 * which leaves the snapshot alone. A crash loses at most the changes of the last debounce window; a
 * torn last line (a crash mid-append) is ignored. Folding writes the snapshot before it empties the
 * journal: a crash in between replays a journal the snapshot already holds, which ends in the same
 * state (each line sets a resource to a state, or removes it).
 */
export class JournalFile {
  private timer: NodeJS.Timeout | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Lines and characters in the journal file since the last fold. */
  private journalLines = 0;
  private journalChars = 0;
  private foldAt: number;
  private foldAtChars: number;
  private chain: Promise<void> = Promise.resolve();
  private tmpCounter = 0;
  /** The last background write failure; flush() and compact() surface it. */
  private failure: unknown;

  /**
   * @param file path of the snapshot (the dataFile)
   * @param snapshot the store's current contents, for folding
   * @param read what `read` found: the snapshot's resources and characters, the journal's lines and
   *   characters (folding waits until the journal outgrows the snapshot); none for a new file
   * @param delayMs debounce window in milliseconds (default 200)
   */
  constructor(
    private readonly file: string,
    private readonly snapshot: () => StoreSnapshot,
    read: StoredSizes | undefined,
    private readonly delayMs = 200,
  ) {
    this.journalLines = read?.journalLines ?? 0;
    this.journalChars = read?.journalChars ?? 0;
    this.foldAt = foldThreshold(read?.records ?? 0);
    this.foldAtChars = foldCharsThreshold(read?.snapshotChars ?? 0);
  }

  get journal(): string {
    return journalOf(this.file);
  }

  /**
   * The stored document with the journal replayed over it, or undefined when neither exists. A
   * corrupt snapshot is an error, never "empty"; so is a corrupt journal line before the last.
   */
  static async read(file: string): Promise<({ document: unknown } & StoredSizes) | undefined> {
    const text = await readIfThere(file);
    const journal = await readIfThere(journalOf(file));
    if (text === undefined && journal === undefined) return undefined;
    let document: unknown;
    try {
      document = text === undefined ? emptyDocument() : (JSON.parse(text) as unknown);
    } catch (error) {
      throw new Error(`sandbox dataFile ${file} is not valid JSON: ${(error as Error).message}`);
    }
    const snapshotChars = text?.length ?? 0;
    if (journal === undefined || !isDocument(document)) return { document, records: 0, journalLines: 0, snapshotChars, journalChars: 0 };
    const records = document.users.length + document.groups.length;
    const lines = journal.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const users = byId(document.users);
    const groups = byId(document.groups);
    lines.forEach((line, i) => {
      let change: StoreChange;
      try {
        change = JSON.parse(line) as StoreChange;
      } catch (error) {
        // The last line may be torn by a crash mid-append; anything earlier is damage.
        if (i === lines.length - 1) return;
        throw new Error(`sandbox journal ${journalOf(file)}:${i + 1} is not valid JSON: ${(error as Error).message}`);
      }
      if (change.type === 'clear') {
        users.clear();
        groups.clear();
      } else {
        const map = change.kind === 'User' ? users : groups;
        if (change.type === 'put') map.set(String(change.resource.id), change.resource);
        else map.delete(change.id);
      }
    });
    return { document: { ...document, users: [...users.values()], groups: [...groups.values()] }, records, journalLines: lines.length, snapshotChars, journalChars: journal.length };
  }

  record(change: StoreChange): void {
    // Serialised now: the store replaces a resource on change, but the line must say what it was.
    const line = `${JSON.stringify(change)}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= 1 << 20) {
      this.writeSoon(0);
      return;
    }
    this.writeSoon(this.delayMs);
  }

  private writeSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.enqueue(() => this.append()).catch((error: unknown) => {
        this.failure = error;
      });
    }, delayMs);
    // The sandbox compacts on close; a forgotten one must not keep the process alive.
    this.timer.unref();
  }

  /** Appends pending changes now and waits for every write in flight. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.enqueue(() => this.append());
    this.surface();
  }

  /**
   * Folds everything into the snapshot and removes the journal: what a clean stop leaves, and what
   * a start does with a journal left by a crash (whose last line may be torn: appending after it
   * would join the two).
   */
  async compact(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.enqueue(async () => {
      this.pending = [];
      this.pendingBytes = 0;
      await this.fold();
    });
    this.surface();
  }

  private surface(): void {
    if (this.failure === undefined) return;
    const failure = this.failure;
    this.failure = undefined;
    throw failure;
  }

  /** Runs `step` after every write before it: appends and folds never interleave. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async append(): Promise<void> {
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await mkdir(dirname(this.file), { recursive: true });
      // 0600: the data is people's accounts.
      await appendFile(this.journal, lines.join(''), { mode: 0o600 });
    } catch (error) {
      // Kept for the next try (a torn partial append is ignored or repeated by replay alike).
      this.pending = [...lines, ...this.pending];
      this.pendingBytes = this.pending.reduce((n, l) => n + l.length, 0);
      throw error;
    }
    this.journalLines += lines.length;
    for (const line of lines) this.journalChars += line.length;
    if (this.journalLines >= this.foldAt || this.journalChars >= this.foldAtChars) await this.fold();
  }

  private async fold(): Promise<void> {
    const document = this.snapshot();
    const text = JSON.stringify(document);
    const tmp = `${this.file}.${process.pid}.${++this.tmpCounter}.tmp`;
    await mkdir(dirname(this.file), { recursive: true });
    // 0600 whatever was there before. (A left-over temp file keeps its mode through writeFile, hence the chmod.)
    await writeFile(tmp, text, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
    await rm(this.journal, { force: true });
    this.journalLines = 0;
    this.journalChars = 0;
    this.foldAt = foldThreshold(document.users.length + document.groups.length);
    this.foldAtChars = foldCharsThreshold(text.length);
  }
}

/** What reading the dataFile found, for when to fold next. */
interface StoredSizes {
  records: number;
  journalLines: number;
  snapshotChars: number;
  journalChars: number;
}

/** Journal lines after which it is folded: the snapshot's size, and at least 10,000. */
const foldThreshold = (records: number) => Math.max(10_000, records);

/** Journal characters after which it is folded: twice the snapshot's, and at least 64 Mi. */
const foldCharsThreshold = (snapshotChars: number) => Math.max(64 * 1024 * 1024, 2 * snapshotChars);

const journalOf = (file: string) => `${file}.journal`;

const emptyDocument = (): StoreSnapshot => ({ format: 'scim-sync-sandbox', version: 1, users: [], groups: [] });

function isDocument(value: unknown): value is StoreSnapshot {
  const v = value as Partial<StoreSnapshot> | null;
  return typeof v === 'object' && v !== null && Array.isArray(v.users) && Array.isArray(v.groups);
}

function byId(resources: readonly ScimResource[]): Map<string, ScimResource> {
  return new Map(resources.map((r) => [String(r.id), r]));
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
