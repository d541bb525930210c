/**
 * The one reader and writer of our JSON state (holds, quarantine, links, staged sets, rejections),
 * for the files in the state directory and the values of their Redis adapters alike. Reading
 * refuses what is not valid JSON or not of the expected shape with a StateError naming the file
 * (or Redis key) and the first bad path, never "nothing stored"; writing passes the redactor, as
 * every writer does (a server's error text or an operator's reason may quote a credential).
 */
import { readFile } from 'node:fs/promises';
import type * as z from 'zod';
import { redact } from '../config/secret.js';
import { StateError } from '../errors.js';
import { pathText } from '../model/plan-schema.js';
import { explainCode } from './state-dir.js';

export interface StateShape<T> {
  schema: z.ZodType<T>;
  /** What the data is, for "not <what>": "a quarantine file", "an emergency hold". */
  what: string;
  /** What the operator can do about damaged data: "fix or remove it (removing it ...)". */
  fix: string;
}

/** `text` (read from `where`) as `shape`, or a StateError naming where, what and the first bad path. */
export function parseStateJson<T>(text: string, where: string, shape: StateShape<T>): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new StateError(`${where} is damaged (not valid JSON: ${(error as Error).message}): ${shape.fix}`, {}, { cause: error });
  }
  return checkStateShape(data, where, shape);
}

/** Parsed JSON (read from `where`) as `shape`, or a StateError naming where, what and the first bad path. */
export function checkStateShape<T>(data: unknown, where: string, shape: StateShape<T>): T {
  const result = shape.schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.length > 0 ? `: ${pathText(issue.path)}: ${issue.message}` : '';
  throw new StateError(`${where} is damaged (not ${shape.what}${at}): ${shape.fix}`);
}

/** The file as `shape`; `missing` when it does not exist. */
export async function readStateFile<T>(file: string, shape: StateShape<T>, missing: T): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return missing;
    throw new StateError(`cannot read ${file}: ${explainCode(error)}`, {}, { cause: error });
  }
  return parseStateJson(text, file, shape);
}

/** How state is written: JSON through the redactor. */
export function stateJson(value: unknown, indent?: number): string {
  return redact(JSON.stringify(value, null, indent));
}
