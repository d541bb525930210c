/**
 * Checks that need more than the schema: templates parse, scope regexes compile. Run by every
 * command that loads a config, so `validate` catches them before a run does.
 */
import { ConfigError } from '../errors.js';
import { compileUserMapping } from './user-mapping.js';
import type { Config } from '../config/schema/index.js';

export function checkMappings(config: Config): void {
  const problems: string[] = [];
  for (const [name, target] of Object.entries(config.targets)) {
    try {
      // With no source attributes known, only explicit rules are compiled: exactly what the user wrote.
      compileUserMapping(target.mapping, new Set(['userName']));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) problems.push(`targets.${name}.${problem}`);
    }
    (target.scope ?? []).forEach((filter, i) => {
      for (const [attr, clause] of Object.entries(filter)) {
        if (clause.matches === undefined) continue;
        try {
          new RegExp(clause.matches);
        } catch (error) {
          problems.push(`targets.${name}.scope[${i}].${attr}.matches: ${(error as Error).message}`);
        }
      }
    });
  }
  if (problems.length > 0) throw new ConfigError(`${problems.length} mapping problem${problems.length === 1 ? '' : 's'}`, problems);
}
