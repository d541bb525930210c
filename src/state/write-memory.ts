/**
 * What scim-sync learned from reading back its writes, per target: the PATCH shape each attribute
 * is kept in, and the changes it parked (or is counting towards parking). Kept in two small files
 * of the state directory (embedded mode: `patch-shapes.json`, `parked-changes.json`, written
 * atomically) or in two Redis hashes per target (distributed mode, redis-write-memory.ts). The
 * decisions are made in execution/write-checks.ts and planning/parked.ts; this only keeps them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError } from '../errors.js';
import { PATCH_SHAPES, type PatchShape } from '../config/profiles.js';
import type { ParkedChange } from '../model/plan.js';
import { writeFileAtomic } from './atomic-write.js';
import { ensureStateDir, explainCode } from './state-dir.js';

/** A PATCH shape an attribute was read back in, on one target. */
export interface LearnedShape {
  shape: PatchShape;
  /** ISO time it was read back. */
  at: string;
  /** Whose account it was read back on (userName or displayName), for the admin. */
  example: string;
}

/** A change refused or not kept: parked, or counting the runs that refused it. */
export interface ParkedEntry extends ParkedChange {
  /** Runs in a row that refused it with a final error; parked once it reaches `parkAfterRuns`. */
  runs: number;
  /** The plan of the last run that counted: a run counts once, however many times it retries. */
  planId: string;
  /** True: left out of plans (planning/parked.ts). False: still sent, the runs counting. */
  parked: boolean;
}

export interface WriteMemory {
  /** The learned shapes of a target, by attribute (patch-shape.ts attributeKey). */
  shapes(target: string): Promise<Map<string, LearnedShape>>;
  learnShape(target: string, attribute: string, learned: LearnedShape): Promise<void>;
  /** The parked (and counting) changes of a target, by key (planning/parked.ts). */
  parked(target: string): Promise<Map<string, ParkedEntry>>;
  park(target: string, entry: ParkedEntry): Promise<void>;
  /** Forgets these entries of a target (done since, or no longer planned). */
  forget(target: string, keys: readonly string[]): Promise<void>;
}

export function parseLearnedShape(where: string, value: unknown): LearnedShape {
  const e = value as Partial<LearnedShape> | null;
  if (e && PATCH_SHAPES.includes(e.shape as PatchShape) && typeof e.at === 'string' && typeof e.example === 'string') return e as LearnedShape;
  throw new StateError(`${where} holds a damaged learned PATCH shape`);
}

export function parseParkedEntry(where: string, value: unknown): ParkedEntry {
  const e = value as Partial<ParkedEntry> | null;
  const strings = e && [e.key, e.kind, e.externalId, e.label, e.reason, e.since, e.planId].every((v) => typeof v === 'string');
  if (strings && Number.isInteger(e.runs) && typeof e.parked === 'boolean' && (e.attribute === undefined || typeof e.attribute === 'string')) return e as ParkedEntry;
  throw new StateError(`${where} holds a damaged parked change`);
}

type Section<T> = Map<string, Map<string, T>>;

/** One JSON file of the state directory: `{version: 1, targets: {<target>: {<name>: entry}}}`. */
class TargetFile<T> {
  private cache: Section<T> | undefined;
  /** Writes one after the other: operations of one target run concurrently. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly file: string,
    private readonly parse: (where: string, value: unknown) => T,
  ) {}

  async target(target: string): Promise<Map<string, T>> {
    return new Map((await this.load()).get(target) ?? []);
  }

  update(target: string, change: (entries: Map<string, T>) => void): Promise<void> {
    const next = this.queue.then(async () => {
      const all = await this.load();
      const entries = all.get(target) ?? new Map<string, T>();
      change(entries);
      if (entries.size > 0) all.set(target, entries);
      else all.delete(target);
      ensureStateDir(this.dir);
      const data = Object.fromEntries([...all].map(([name, e]) => [name, Object.fromEntries(e)]));
      await writeFileAtomic(this.file, `${JSON.stringify({ version: 1, targets: data }, null, 2)}\n`).catch((error: unknown) => {
        throw new StateError(`cannot write ${this.file}: ${explainCode(error)}`, {}, { cause: error });
      });
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async load(): Promise<Section<T>> {
    if (this.cache) return this.cache;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return (this.cache = new Map());
      throw new StateError(`cannot read ${this.file}: ${explainCode(error)}`, {}, { cause: error });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new StateError(`${this.file} is not valid JSON (${(error as Error).message}); fix or remove it`, {}, { cause: error });
    }
    const targets = (data as { targets?: unknown } | null)?.targets;
    if (!targets || typeof targets !== 'object' || Array.isArray(targets)) throw new StateError(`${this.file} is damaged (no "targets" object): fix or remove it`);
    const all: Section<T> = new Map();
    for (const [target, entries] of Object.entries(targets as Record<string, unknown>)) {
      if (!entries || typeof entries !== 'object' || Array.isArray(entries)) throw new StateError(`${this.file} is damaged at target ${target}: fix or remove it`);
      all.set(target, new Map(Object.entries(entries as Record<string, unknown>).map(([name, e]) => [name, this.parse(`${this.file} (target ${target})`, e)])));
    }
    return (this.cache = all);
  }
}

export function patchShapesFile(stateDir: string): string {
  return join(stateDir, 'patch-shapes.json');
}

export function parkedChangesFile(stateDir: string): string {
  return join(stateDir, 'parked-changes.json');
}

/** Embedded mode: the two files of the state directory, read once and written through. */
export class FileWriteMemory implements WriteMemory {
  private readonly shapeFile: TargetFile<LearnedShape>;
  private readonly parkedFile: TargetFile<ParkedEntry>;

  constructor(stateDir: string) {
    this.shapeFile = new TargetFile(stateDir, patchShapesFile(stateDir), parseLearnedShape);
    this.parkedFile = new TargetFile(stateDir, parkedChangesFile(stateDir), parseParkedEntry);
  }

  shapes(target: string): Promise<Map<string, LearnedShape>> {
    return this.shapeFile.target(target);
  }

  learnShape(target: string, attribute: string, learned: LearnedShape): Promise<void> {
    return this.shapeFile.update(target, (e) => e.set(attribute, learned));
  }

  parked(target: string): Promise<Map<string, ParkedEntry>> {
    return this.parkedFile.target(target);
  }

  park(target: string, entry: ParkedEntry): Promise<void> {
    return this.parkedFile.update(target, (e) => e.set(entry.key, entry));
  }

  async forget(target: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.parkedFile.update(target, (e) => {
      for (const key of keys) e.delete(key);
    });
  }
}
