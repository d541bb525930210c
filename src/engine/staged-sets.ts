/**
 * Staged change sets and rejections in the state directory (embedded mode): `staged/ID.json`, one
 * file per set, and `rejections.json`, each written atomically, 0600. A set holds the deprovisions
 * a safety stop held (planning/staged-deprovisions.ts) as a plan with its binding and
 * preconditions, so `approve` checks it like a saved plan; a rejection keeps a person's deprovision
 * out of later plans while their source record is unchanged (planning/rejections.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PlanError, StateError } from '../errors.js';
import type { Plan } from '../model/plan.js';
import { parsePlan } from '../model/plan-schema.js';
import type { Rejection } from '../planning/rejections.js';
import { personDigest } from '../planning/preconditions.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import { explainCode } from '../state/state-dir.js';
import { redact } from '../config/secret.js';

const FORMAT = 'scim-sync-staged';
/** Ids are short enough to type and can name nothing outside the staged folder. */
const ID = /^st-[0-9a-f]{8}$/;

export interface StagedSet {
  format: typeof FORMAT;
  version: 1;
  id: string;
  createdAt: string;
  /** Why the safety check stopped the run. */
  reasons: string[];
  /** The stopped plan's person deprovisions: its id, binding and preconditions. */
  plan: Plan;
}

export interface RejectionEntry extends Rejection {
  at: string;
  by: string;
}

/** target -> source key -> rejection. */
export type RejectionFile = Record<string, Record<string, RejectionEntry>>;

const stagedDir = (stateDir: string) => join(stateDir, 'staged');
const stagedFile = (stateDir: string, id: string) => join(stagedDir(stateDir), `${id}.json`);
const rejectionsFile = (stateDir: string) => join(stateDir, 'rejections.json');

async function write(file: string, value: unknown): Promise<void> {
  try {
    await writeFileAtomic(file, redact(JSON.stringify(value, null, 2)));
  } catch (error) {
    throw new StateError(`cannot write ${file}: ${explainCode(error)}`, {}, { cause: error });
  }
}

/**
 * What a set would apply, as a comparable value: each operation by target, kind, person and the
 * digests it was planned on. Two stops of an unchanged outage stage the same thing.
 */
export function stagedContent(plan: Plan): string {
  return plan.targets
    .flatMap((t) => t.phases.flatMap((p) => p.operations).map((op) => [t.target, op.kind, op.externalId, op.pre?.source ?? '', op.pre?.account ?? ''].join('\n')))
    .sort()
    .join('\n\n');
}

export async function saveStagedSet(stateDir: string, plan: Plan, reasons: readonly string[], now = new Date()): Promise<StagedSet> {
  try {
    await mkdir(stagedDir(stateDir), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StateError(`cannot create ${stagedDir(stateDir)}: ${explainCode(error)}`, {}, { cause: error });
  }
  const set: StagedSet = { format: FORMAT, version: 1, id: `st-${randomBytes(4).toString('hex')}`, createdAt: now.toISOString(), reasons: [...reasons], plan };
  await write(stagedFile(stateDir, set.id), set);
  return set;
}

function parseStaged(text: string, file: string): StagedSet {
  let data: Partial<StagedSet>;
  try {
    data = JSON.parse(text) as Partial<StagedSet>;
  } catch (error) {
    throw new PlanError(`${file} is not a staged set: ${(error as Error).message}`, {}, { cause: error });
  }
  if (data.format !== FORMAT || data.version !== 1 || typeof data.id !== 'string' || !Array.isArray(data.reasons)) throw new PlanError(`${file} is not a staged set`);
  const parsed = parsePlan(data.plan);
  if ('problem' in parsed) throw new PlanError(`${file} is damaged at plan.${parsed.problem}: reject it, and the next run stages afresh`);
  return { ...(data as StagedSet), plan: parsed.plan };
}

export async function readStagedSet(stateDir: string, id: string): Promise<{ set: StagedSet; file: string }> {
  const file = stagedFile(stateDir, id);
  if (!ID.test(id)) throw new PlanError(`${id} is not a staged set id (st- and 8 hex digits): scim-sync staged lists them`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new PlanError(`no staged set ${id} in ${stagedDir(stateDir)}: scim-sync staged lists them`);
    throw new StateError(`cannot read ${file}: ${explainCode(error)}`, {}, { cause: error });
  }
  return { set: parseStaged(text, file), file };
}

/** Every staged set, oldest first. */
export async function listStagedSets(stateDir: string): Promise<StagedSet[]> {
  let names: string[];
  try {
    names = await readdir(stagedDir(stateDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StateError(`cannot read ${stagedDir(stateDir)}: ${explainCode(error)}`, {}, { cause: error });
  }
  const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).filter((id) => ID.test(id));
  const sets = await Promise.all(ids.map(async (id) => (await readStagedSet(stateDir, id)).set));
  return sets.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function removeStagedSet(stateDir: string, id: string): Promise<void> {
  try {
    await unlink(stagedFile(stateDir, id));
  } catch (error) {
    throw new StateError(`cannot remove ${stagedFile(stateDir, id)}: ${explainCode(error)}`, {}, { cause: error });
  }
}

export async function readRejections(stateDir: string): Promise<RejectionFile> {
  const file = rejectionsFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new StateError(`cannot read ${file}: ${explainCode(error)}`, {}, { cause: error });
  }
  const damaged = (why: string, cause?: unknown) =>
    new StateError(`${file} is damaged (${why}): fix or remove it (removing it lets rejected deprovisions be planned again)`, {}, cause === undefined ? undefined : { cause });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw damaged((error as Error).message, error);
  }
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(data) || !Object.values(data).every(isMap)) throw damaged('not a map of targets to rejections');
  return data as RejectionFile;
}

/** One target's rejections, as the planner takes them. */
export function rejectionsOf(file: RejectionFile, target: string): Map<string, Rejection> {
  return new Map(Object.entries(file[target] ?? {}).map(([key, r]) => [key, { digest: r.digest, stagedId: r.stagedId }]));
}

/**
 * Forgets the rejections the source has overtaken (the person's record changed since): they no
 * longer apply, and a record that later changed back must not revive one. Returns how many went.
 */
export async function forgetChangedRejections(stateDir: string, snapshot: DirectorySnapshot): Promise<number> {
  const file = await readRejections(stateDir);
  const users = new Map(snapshot.users.map((u) => [u.key, u]));
  let forgotten = 0;
  for (const [target, entries] of Object.entries(file)) {
    for (const [key, entry] of Object.entries(entries)) {
      if (entry.digest === personDigest(users.get(key))) continue;
      delete entries[key];
      forgotten++;
    }
    if (Object.keys(entries).length === 0) delete file[target];
  }
  if (forgotten > 0) await write(rejectionsFile(stateDir), file);
  return forgotten;
}

export async function addRejections(stateDir: string, entries: readonly { target: string; key: string; entry: RejectionEntry }[]): Promise<void> {
  const file = await readRejections(stateDir);
  for (const { target, key, entry } of entries) (file[target] ??= {})[key] = entry;
  await write(rejectionsFile(stateDir), file);
}
