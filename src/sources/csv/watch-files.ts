/**
 * Wakes a change feed when one of a few files may have changed. Watches each file's directory, not
 * the file: an export replaced by rename (write a temp file, rename it over the old one) is a new
 * inode, which a watch on the old file would never report. Events are hints only: the feed's poll
 * decides, and the service polls on an interval anyway, so an event lost (or a watch that cannot be
 * set up: a folder not there yet, a file system without inotify) only delays.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export class FileWatch {
  private readonly names = new Map<string, Set<string>>();
  private readonly watchers = new Map<string, FSWatcher>();
  private waiters: (() => void)[] = [];
  /** An event came while no one waited: the next wait returns at once. */
  private pending = false;
  private closed = false;

  constructor(paths: readonly string[]) {
    for (const path of paths) {
      const dir = dirname(path);
      let names = this.names.get(dir);
      if (!names) this.names.set(dir, (names = new Set()));
      names.add(basename(path));
    }
  }

  /**
   * Resolves at the first event after the previous wait returned (at once if one came between),
   * or when `signal` aborts: resolving, not rejecting, so a caller that races this against a timer
   * and aborts the loser leaves no unhandled rejection behind.
   */
  wait(signal: AbortSignal): Promise<void> {
    if (this.pending || this.closed || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    this.start();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      this.waiters.push(done);
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private fire(): void {
    if (this.waiters.length === 0) {
      this.pending = true;
      return;
    }
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Sets up the watches not yet running; one that fails is tried again at the next wait. */
  private start(): void {
    for (const [dir, names] of this.names) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          // Some platforms do not say which file: then any event may be ours.
          if (name === null || names.has(name.toString())) this.fire();
        });
        watcher.on('error', () => {
          // The folder went away (or the watch broke): forget it; the next wait sets it up again.
          watcher.close();
          if (this.watchers.get(dir) === watcher) this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch {
        // No folder yet, or no watch available here: polling still finds the change.
      }
    }
  }
}
