/**
 * Where change feeds keep their position between passes and across restarts (see
 * sources/change-feed.ts): one small document per feed, written atomically, so a crash leaves the
 * old position or the new one, never half of one.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

export interface FeedTokenStore {
  /** The feed's stored position, or undefined before its first commit. */
  get(feed: string): Promise<string | undefined>;
  set(feed: string, token: string): Promise<void>;
}

/** Feed names become file names: only a safe alphabet, so a name cannot reach outside the folder. */
function fileName(feed: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(feed) || feed.startsWith('.')) throw new Error(`feed name "${feed}" is not a safe file name`);
  return `${feed}.token`;
}

/** Embedded mode: `<stateDir>/feeds/<feed>.token`. */
export class FileFeedTokenStore implements FeedTokenStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'feeds');
  }

  async get(feed: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.dir, fileName(feed)), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async set(feed: string, token: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, fileName(feed)), token);
  }
}
