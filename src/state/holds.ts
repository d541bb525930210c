/**
 * Emergency holds (`holds.json` in the state directory): people deprovisioned by hand with
 * `scim-sync deprovision`, kept deactivated by later cycles until their source record changes or
 * `scim-sync release` lifts the hold. One JSON object by source key, written atomically, 0600.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { ensureStateDir, explainCode } from './state-dir.js';

export interface Hold {
  /** When the hold was set (ISO time). */
  time: string;
  reason: string;
  /** Who asked: user@host. */
  by: string;
  /** The person's source digest when the hold was set (personDigest); null: not in the source then. */
  digest: string | null;
}

const FILE = 'holds.json';

export function holdsFile(stateDir: string): string {
  return join(stateDir, FILE);
}

/** Every hold by source key; none when the file does not exist. A damaged file is an error, never "no holds". */
export async function readHolds(stateDir: string): Promise<Map<string, Hold>> {
  const file = holdsFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new StateError(`cannot read ${file}: ${explainCode(error)}`, {}, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new StateError(`${file} is not valid JSON (${(error as Error).message}); fix or remove it`, {}, { cause: error });
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new StateError(`${file} is not a JSON object of holds by source key`);
  const holds = new Map<string, Hold>();
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const h = value as Partial<Hold> | null;
    if (!h || typeof h.time !== 'string' || typeof h.reason !== 'string' || typeof h.by !== 'string' || !(typeof h.digest === 'string' || h.digest === null)) {
      throw new StateError(`${file}: the hold of "${key}" is incomplete (time, reason, by and digest are needed)`);
    }
    holds.set(key, { time: h.time, reason: h.reason, by: h.by, digest: h.digest });
  }
  return holds;
}

export async function writeHolds(stateDir: string, holds: ReadonlyMap<string, Hold>): Promise<void> {
  ensureStateDir(stateDir);
  const file = holdsFile(stateDir);
  await writeFileAtomic(file, `${JSON.stringify(Object.fromEntries(holds), null, 2)}\n`).catch((error: unknown) => {
    throw new StateError(`cannot write ${file}: ${explainCode(error)}`, {}, { cause: error });
  });
}
