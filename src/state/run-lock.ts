/**
 * One run at a time per state directory, so two cron runs never overlap. The lock is a file created
 * exclusively, holding who took it; a lock left by a process that no longer exists on this host is
 * taken over (a crashed run must not block every later one).
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { open, readFile, unlink } from 'node:fs/promises';
import { LockedError } from '../errors.js';
import { ensureStateDir } from './state-dir.js';

export interface RunLock {
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireRunLock(stateDir: string): Promise<RunLock> {
  ensureStateDir(stateDir);
  const file = join(stateDir, 'run.lock');
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      return {
        release: async () => {
          await unlink(file).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: Holder | null = null;
    try {
      holder = JSON.parse(await readFile(file, 'utf8')) as Holder;
    } catch {
      holder = null;
    }
    if (holder && (holder.host !== me.host || alive(holder.pid))) {
      throw new LockedError(`another run holds ${file} (pid ${holder.pid} on ${holder.host} since ${holder.since})`);
    }
    // Stale (its process is gone) or unreadable (a crash while writing it): take it over.
    await unlink(file).catch(() => undefined);
  }
  throw new LockedError(`could not take ${file}: another run keeps taking it`);
}
