/**
 * The targets a command works on: every enabled target, or those `--target` names. The one place
 * that decides it, so that a name that is not a target of the config, or a disabled one, is refused
 * by every command alike (exit 2) instead of silently working on nothing.
 */
import { ConfigError } from '../errors.js';
import type { TargetConfig } from './schema/index.js';
import type { LoadedConfig } from './load.js';

export function selectTargets(loaded: LoadedConfig, only: readonly string[] = []): [string, TargetConfig][] {
  const all = Object.entries(loaded.config.targets);
  const problems: string[] = [];
  for (const name of new Set(only)) {
    const target = loaded.config.targets[name];
    if (!target) problems.push(`no target named ${name} in ${loaded.file} (targets: ${all.map(([n]) => n).join(', ')})`);
    else if (!target.enabled) problems.push(`target ${name} is disabled in ${loaded.file} (enabled: false)`);
  }
  if (problems.length === 1) throw new ConfigError(problems[0]!);
  if (problems.length > 1) throw new ConfigError(`--target names ${problems.length} targets that cannot be used`, problems);
  return all.filter(([name, t]) => t.enabled && (only.length === 0 || only.includes(name)));
}
