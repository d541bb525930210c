/**
 * The source attributes whose values stay out of what people read (the console's person page, plan
 * warnings that quote a value): those that feed an attribute `audit.redactAttributes` lists.
 */
import { listed } from './redact-attributes.js';
import type { Config } from '../config/schema/index.js';
import { compileValue } from '../mapping/compiled-value.js';
import { DEFAULT_USER_MAPPING } from '../mapping/default-user-mapping.js';

/**
 * The source attributes whose values reach an attribute `audit.redactAttributes` lists, through the
 * default mapping or a target's: the source's `phone` feeds phoneNumbers, and is masked with it.
 */
export function sourceAttributesFeeding(config: Pick<Config, 'targets'>, redacted: readonly string[]): Set<string> {
  const names = new Set<string>();
  if (redacted.length === 0) return names;
  const rules = [DEFAULT_USER_MAPPING, ...Object.values(config.targets).map((t) => t.mapping)].flatMap((m) => Object.entries(m));
  for (const [path, rule] of rules) {
    if (rule === null || !listed(path, redacted)) continue;
    const texts = typeof rule === 'string' ? [rule] : 'values' in rule ? [rule.values] : [rule.value, ...[rule.default ?? []].flat()];
    for (const text of texts) {
      if (text === undefined) continue;
      try {
        for (const a of compileValue(text, { allowUnique: true }).attributes) names.add(a);
      } catch {
        // A rule that does not compile maps nothing (validate says why).
      }
    }
  }
  return names;
}
