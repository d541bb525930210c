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
}

export function resolveReferences(
  text: string,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
  path: string,
): ResolvedString {
  let origin: string | null = null;
  const value = text.replace(REFERENCE, (_match, kind: string, name: string) => {
    const ref = `${kind}:${name.trim()}`;
    origin ??= ref;
    if (kind === 'env') {
      const v = env[name.trim()];
      if (v === undefined) {
        problems.push(`${path}: environment variable ${name.trim()} is not set`);
        return '';
      }
      return v;
    }
    const file = resolve(baseDir, name.trim());
    try {
      // Secret files conventionally end with a newline; the credential does not.
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${path}: cannot read file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return '';
    }
  });
  return { value, referenced: origin !== null, origin };
}
