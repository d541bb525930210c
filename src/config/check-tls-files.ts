/**
 * The targets' TLS files exist and hold PEM of the right kind, so `validate` reports a wrong path or
 * a garbage file (with exit 2) before a run stops on it. Run by every command that loads a config.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Config } from './schema/index.js';

const EXPECTED = { ca: 'a PEM certificate', cert: 'a PEM certificate', key: 'a PEM private key' } as const;

function parses(key: keyof typeof EXPECTED, pem: string): boolean {
  try {
    if (key === 'key') createPrivateKey(pem);
    else new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

export function checkTlsFiles(config: Config): void {
  const problems: string[] = [];
  for (const [name, target] of Object.entries(config.targets)) {
    for (const key of ['ca', 'cert', 'key'] as const) {
      const file = target.tls?.[key];
      if (file === undefined) continue;
      let pem: string;
      try {
        pem = readFileSync(file, 'utf8');
      } catch (error) {
        problems.push(`targets.${name}.tls.${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
        continue;
      }
      if (!parses(key, pem)) problems.push(`targets.${name}.tls.${key}: ${file} is not ${EXPECTED[key]}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`${problems.length} TLS file problem${problems.length === 1 ? '' : 's'}`, problems);
}
