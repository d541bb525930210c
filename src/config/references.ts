/**
 * `${env:NAME}` and `${file:path}` references in config strings, so tokens need not sit in org.yaml.
 * Resolved once at load time; a missing variable or unreadable file is a config problem with a path.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const REFERENCE = /\$\{(env|file):([^}]+)\}/g;

export interface ResolvedString {
  value: string;
  /** True when any part came from a reference (so a literal secret can be warned about). */
  referenced: boolean;
  /** The first reference's description, e.g. `env:SLACK_TOKEN`. */
  origin: string | null;
  /** What each reference resolved to, and where it was written in the text. */
  parts: string[];
  at: number[];
}

export function resolveReferences(
  text: string,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
  path: string,
): ResolvedString {
  const origins: string[] = [];
  const parts: string[] = [];
  const at: number[] = [];
  const value = text.replace(REFERENCE, (_match, kind: string, name: string, offset: number) => {
    origins.push(`${kind}:${name.trim()}`);
    at.push(offset);
    const part = kind === 'env' ? fromEnv(name.trim(), env, problems, path) : fromFile(resolve(baseDir, name.trim()), problems, path);
    parts.push(part);
    return part;
  });
  return { value, referenced: origins.length > 0, origin: origins[0] ?? null, parts, at };
}

function fromEnv(name: string, env: NodeJS.ProcessEnv, problems: string[], path: string): string {
  const v = env[name];
  if (v === undefined) {
    problems.push(`${path}: environment variable ${name} is not set`);
    return '';
  }
  return v;
}

function fromFile(file: string, problems: string[], path: string): string {
  try {
    // Secret files conventionally end with a newline; the credential does not.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    problems.push(`${path}: cannot read file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return '';
  }
}
