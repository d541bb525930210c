/** Templates against what the source offers: `validate` says it, and a plan refuses before any target is read. */
import { attributeProblems } from '../mapping/check-attributes.js';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { SourceDirectory } from '../sources/source-directory.js';

export async function requireOfferedAttributes(loaded: LoadedConfig, source: SourceDirectory): Promise<void> {
  const problems = attributeProblems(loaded.config, await source.offeredAttributes(), source.description);
  if (problems.length > 0) throw new ConfigError(`${loaded.file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems);
}
