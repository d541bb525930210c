/**
 * The CSV source's change feed (see ../change-feed.ts): names the people whose rows were added,
 * changed or removed since the last accepted version of the file.
 *
 * A version is accepted only when it is whole, because a half-written export read as the truth
 * would deactivate everyone below the cut:
 * - it has settled: its size, times and inode (and the memberships file's) are the same after
 *   `changes.settleMs`;
 * - with `changes.doneMarker`, `<path>.done` is at least as new as it; with `source.trailer`, the
 *   reader itself refuses a file whose trailer row is missing or counts otherwise;
 * - the reader (CsvSource, the same parser as every cycle) reads it without failing, and its last
 *   record is not one it rejected as malformed (a cut shows there: a short row; an unclosed quote
 *   fails the read).
 * Anything else returns null and changes nothing: the next event or poll tries again. A file that
 * stays broken is reported by the cycles, which read the same file.
 *
 * A whole, settled file may still be the first part of an export written in place (truncated, then
 * written page by page, with pauses longer than settleMs between pages): everyone after its last
 * row reads as gone. So a person whose row vanished is handed out as removed only once the file
 * has stayed exactly the same (size, times, inode) for `changes.confirmRemovedMs` since the poll
 * that read it so: until then the batch names the added and changed people only, and the token
 * keeps the vanished people's digests (marked unconfirmed, so a restart reads the file again and
 * waits anew). A leaver whose row says so (an inactive status) is a change, handed out at once.
 *
 * Even a whole file may be a truncated export (cut at a line end by a failed transfer). When it
 * lacks more than `changes.maxRemovedPercent` of the accepted version's people, or holds fewer than
 * safety.minSourceUsers, the batch names no one and asks for a full reconcile, whose safety check
 * (maxDeactivatePercent and the rest) decides, and stops and stages when it must. A group renamed
 * or nested differently also asks for a full reconcile: planning its members one by one would read
 * the file once per member. (People who join or leave a group are named: their digests change.)
 *
 * The token is JSON: the file's stamp and a 12-character digest per person and group (see
 * snapshot-digests.ts). Without one, the first batch asks for a full reconcile and its commit stores
 * the baseline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CsvSourceConfig } from '../../config/schema/index.js';
import type { DirectorySnapshot, SourceIssue } from '../../model/canonical.js';
import type { FeedTokenStore } from '../../state/feed-tokens.js';
import type { ChangeBatch, ChangeFeed } from '../change-feed.js';
import { CsvSource } from './csv-source.js';
import { diffDigests, digestsFromJson, digestSnapshot, digestsToJson, type SnapshotDigests } from './snapshot-digests.js';
import { stampOf, type FileStamp } from './file-stamp.js';
import { FileWatch } from './watch-files.js';

export interface CsvChangeFeedOptions {
  /** The config's safety.minSourceUsers: a file with fewer people asks for a full reconcile. Default 1. */
  readonly minSourceUsers?: number;
  /** Waits out the settle period (default: a timer). Tests pass one that acts while the feed waits. */
  readonly wait?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /** Milliseconds on a clock that never goes back, for confirmRemovedMs (default performance.now). Tests pass their own. */
  readonly now?: () => number;
}

const TOKEN_VERSION = 1;

interface Stamps {
  readonly csv: FileStamp;
  readonly memberships: FileStamp | null;
  readonly done: FileStamp | null;
  /** All three as one string: equal strings, same files (a rename changes ino and ctime, a write mtime). */
  readonly key: string;
}

/** A rejected record after the last person read: where a cut file shows (a short or broken last row). */
function brokenTail(snapshot: DirectorySnapshot, path: string): SourceIssue | undefined {
  let lastGood = 0;
  for (const user of snapshot.users) lastGood = Math.max(lastGood, user.ref.line ?? 0);
  return snapshot.issues.find(
    (i) => i.ref.location === path && (i.code === 'CSV_UNPARSEABLE' || i.code === 'CSV_MULTILINE_FIELD') && (i.ref.line ?? 0) > lastGood,
  );
}

export class CsvChangeFeed implements ChangeFeed {
  readonly description: string;
  private readonly source: CsvSource;
  private readonly watch: FileWatch;
  private readonly settleMs: number;
  private readonly doneMarker: boolean;
  private readonly maxRemovedPercent: number;
  private readonly minSourceUsers: number;
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /** Stamp of files read and found to change no one since the stored snapshot: not read again. */
  private quiet: string | undefined;
  private readonly confirmRemovedMs: number;
  private readonly now: () => number;
  /** The files (Stamps.key) in which people were first found gone, and when (this.now()): confirmed once it stays so for confirmRemovedMs. */
  private vanished: { file: string; since: number } | undefined;

  constructor(
    private readonly config: CsvSourceConfig,
    private readonly tokens: FeedTokenStore,
    private readonly name: string,
    options: CsvChangeFeedOptions = {},
  ) {
    this.description = `csv:${config.path} changes (file snapshots)`;
    this.source = new CsvSource(config);
    this.settleMs = config.changes?.settleMs ?? 1000;
    this.doneMarker = config.changes?.doneMarker ?? false;
    this.maxRemovedPercent = config.changes?.maxRemovedPercent ?? 20;
    this.confirmRemovedMs = config.changes?.confirmRemovedMs ?? 60_000;
    this.now = options.now ?? (() => performance.now());
    this.minSourceUsers = options.minSourceUsers ?? 1;
    this.wait = options.wait ?? ((ms, signal) => sleep(ms, undefined, { signal }));
    this.watch = new FileWatch([config.path, ...(this.doneMarker ? [this.donePath] : []), ...(config.memberships ? [config.memberships.path] : [])]);
  }

  private get donePath(): string {
    return `${this.config.path}.done`;
  }

  /** The files' stamps, or null while the CSV (or its memberships file) is missing: between an unlink and a create, say. */
  private async stamps(): Promise<Stamps | null> {
    const [csv, memberships, done] = await Promise.all([
      stampOf(this.config.path),
      this.config.memberships ? stampOf(this.config.memberships.path) : null,
      this.doneMarker ? stampOf(this.donePath) : null,
    ]);
    if (!csv || (this.config.memberships && !memberships)) return null;
    return { csv, memberships, done, key: JSON.stringify([csv, memberships, done]) };
  }

  /** `unconfirmed`: the digests keep people gone from `file` whose removal was not confirmed yet. */
  private async stored(): Promise<{ file: string; digests: SnapshotDigests; unconfirmed: boolean } | undefined> {
    const raw = await this.tokens.get(this.name);
    if (raw === undefined) return undefined;
    try {
      const doc = JSON.parse(raw) as { v?: unknown; file?: unknown; unconfirmed?: unknown };
      const digests = digestsFromJson(doc);
      // Unreadable or from another version: as if lost, so the next batch is a full reconcile.
      return doc.v === TOKEN_VERSION && typeof doc.file === 'string' && digests ? { file: doc.file, digests, unconfirmed: doc.unconfirmed === true } : undefined;
    } catch {
      return undefined;
    }
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const token = await this.stored();
    const stamps = await this.stamps();
    if (!stamps) return null;
    const waiting = this.vanished?.file === stamps.key ? this.vanished : undefined;
    // The same files as the read that found people gone: nothing new to read until it is confirmed.
    if (waiting && this.now() - waiting.since < this.confirmRemovedMs) return null;
    if (!waiting && ((stamps.key === token?.file && !token.unconfirmed) || stamps.key === this.quiet)) return null;
    if (!(await this.settled(stamps, signal))) return null;
    if (this.doneMarker && (!stamps.done || stamps.done.mtimeMs < stamps.csv.mtimeMs)) return null;

    let snapshot: DirectorySnapshot;
    try {
      snapshot = await this.source.read();
    } catch {
      // Half written, or broken: not taken. The cycles read the same file and report what is wrong.
      return null;
    }
    // Replaced or written to while being read: what was read may be neither version.
    if ((await this.stamps())?.key !== stamps.key) return null;
    if (brokenTail(snapshot, this.config.path)) return null;

    const after = digestSnapshot(snapshot, token?.digests);
    const file = this.config.path;
    const batch = (keys: string[], description: string, full?: string, kept: SnapshotDigests = after): ChangeBatch => ({
      keys,
      // A person's digest in this version (a removed person has none): a row changed again moves it.
      marks: new Map(keys.map((k) => [k, after.users.get(k) ?? 'removed'])),
      description,
      ...(full !== undefined ? { full } : {}),
      commit: async () => {
        const unconfirmed = kept !== after ? { unconfirmed: true } : {};
        await this.tokens.set(this.name, JSON.stringify({ v: TOKEN_VERSION, file: stamps.key, ...unconfirmed, ...digestsToJson(kept) }));
        this.quiet = undefined;
      },
    });
    if (!token) return batch([], `${file}: ${after.users.size} people, no earlier snapshot`, `no earlier snapshot of ${file}`);

    const before = token.digests;
    const diff = diffDigests(before, after);
    const people = after.users.size;
    const removedShare = before.users.size === 0 ? 0 : (diff.removed.length / before.users.size) * 100;
    const counts = `${diff.changed.length} added or changed, ${diff.removed.length} removed`;
    const since = waiting?.since ?? this.now();
    if (diff.removed.length > 0 && this.now() - since < this.confirmRemovedMs) {
      // Gone in one read of a file that may be mid-write: wait for the same file to stay so.
      this.vanished = { file: stamps.key, since };
      // Judged whole once confirmed: the full reconcile's reasons below may be the cut's doing.
      if (diff.changed.length === 0 || diff.groups.length > 0 || people < this.minSourceUsers || removedShare > this.maxRemovedPercent) return null;
      const kept = new Map(after.users);
      for (const key of diff.removed) kept.set(key, before.users.get(key)!);
      const seconds = Math.ceil(this.confirmRemovedMs / 1000);
      return batch(
        diff.changed,
        `${file}: ${diff.changed.length} added or changed since the last accepted version; ${diff.removed.length} gone, removed once the file stays the same for ${seconds} s (source.changes.confirmRemovedMs)`,
        undefined,
        { users: kept, groups: after.groups },
      );
    }
    this.vanished = undefined;
    if (people < this.minSourceUsers) {
      const reason = `${file} holds ${people} people, fewer than safety.minSourceUsers (${this.minSourceUsers})`;
      return batch([], `${file}: ${counts}; ${reason}`, reason);
    }
    if (diff.removed.length > 0 && removedShare > this.maxRemovedPercent) {
      const reason =
        `${file} lacks ${diff.removed.length} of the ${before.users.size} people of its last accepted version ` +
        `(${removedShare.toFixed(1)}%, more than source.changes.maxRemovedPercent ${this.maxRemovedPercent}%): a truncated export? The full reconcile's safety check decides`;
      return batch([], `${file}: ${counts}`, reason);
    }
    if (diff.groups.length > 0) {
      const reason = `${file}: ${diff.groups.length} group${diff.groups.length === 1 ? '' : 's'} renamed or nested differently`;
      return batch([], `${file}: ${counts}`, reason);
    }
    const keys = [...diff.changed, ...diff.removed];
    if (keys.length === 0) {
      this.quiet = stamps.key;
      return null;
    }
    return batch(keys, `${file}: ${counts} since the last accepted version`);
  }

  /**
   * True when the files are as they were after settleMs. Always waited, never judged from the
   * files' times: a copy that keeps the source's mtime, or a file server whose clock differs from
   * ours, would make a file in the middle of its write look old.
   */
  private async settled(stamps: Stamps, signal?: AbortSignal): Promise<boolean> {
    await this.wait(this.settleMs, signal);
    return (await this.stamps())?.key === stamps.key;
  }

  changed(signal: AbortSignal): Promise<void> {
    return this.watch.wait(signal);
  }

  async close(): Promise<void> {
    this.watch.close();
  }
}
