/**
 * Checks that need more than the schema: templates and expressions parse and type-check, scope
 * regexes compile, lookup tables exist. Run by every command that loads a config, so `validate`
 * catches them before a run does. An expression's problem names its column:
 * `targets.app.mapping.userName: column 2 (at "Lef(givenName, 1)"): unknown function Lef; ...`.
 */
import { ConfigError } from '../errors.js';
import { compileUserMapping } from './user-mapping.js';
import type { Config } from '../config/schema/index.js';
import { expressionOptions } from './expression-options.js';
import { compileCondition } from './scope.js';

export function checkMappings(config: Config): void {
  const problems: string[] = [];
  const options = expressionOptions(config);
  for (const [name, target] of Object.entries(config.targets)) {
    try {
      // With no source attributes known, only explicit rules are compiled: exactly what the user wrote.
      compileUserMapping(target.mapping, new Set(['userName']), { roles: target.roles, entitlements: target.entitlements }, options);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) problems.push(`targets.${name}.${problem}`);
    }
    (target.scope ?? []).forEach((filter, i) => {
      if (typeof filter === 'string') {
        try {
          compileCondition(filter, options);
        } catch (error) {
          problems.push(`targets.${name}.scope[${i}]: ${(error as Error).message}`);
        }
        return;
      }
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
