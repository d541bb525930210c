/**
 * The source attributes whose values stay out of what people read (the console's person page, plan
 * warnings that quote a value): those that feed an attribute `audit.redactAttributes` lists.
 */
import { listed } from './redact-attributes.js';
import type { Config } from '../config/schema/index.js';
import { compileValue } from '../mapping/compiled-value.js';
import { compileCondition } from '../mapping/scope.js';
import { DEFAULT_USER_MAPPING } from '../mapping/default-user-mapping.js';

/** Each mapping rule's target path and its template or expression texts: the default mapping's and every target's. */
function* ruleTexts(config: Pick<Config, 'targets'>): Generator<[path: string, text: string]> {
  const rules = [DEFAULT_USER_MAPPING, ...Object.values(config.targets).map((t) => t.mapping)].flatMap((m) => Object.entries(m));
  for (const [path, rule] of rules) {
    if (rule === null) continue;
    const texts = typeof rule === 'string' ? [rule] : 'values' in rule ? [rule.values] : [rule.value, ...[rule.default ?? []].flat()];
    for (const text of texts) if (text !== undefined) yield [path, text];
  }
  for (const target of Object.values(config.targets)) for (const role of [...(target.roles ?? []), ...(target.entitlements ?? [])]) yield ['roles', role.value];
}

/** The source attributes `text` reads; none when it does not compile (validate says why). */
function attributesOf(text: string, read: (text: string) => readonly string[]): readonly string[] {
  try {
    return read(text);
  } catch {
    return [];
  }
}

/**
 * The source attributes whose values reach an attribute `audit.redactAttributes` lists, through the
 * default mapping or a target's: the source's `phone` feeds phoneNumbers, and is masked with it.
 */
export function sourceAttributesFeeding(config: Pick<Config, 'targets'>, redacted: readonly string[]): Set<string> {
  const names = new Set<string>();
  if (redacted.length === 0) return names;
  for (const [path, text] of ruleTexts(config)) {
    if (!listed(path, redacted)) continue;
    for (const a of attributesOf(text, (t) => compileValue(t, { allowUnique: true }).attributes)) names.add(a);
  }
  return names;
}

/**
 * The source attributes provisioning reads: by a mapping rule, a role or entitlement rule, or a
 * target's scope. An HR export carries more (salary, national id, date of birth); a page that shows
 * a person's source record to a helpdesk shows these, not every column the file has.
 */
export function sourceAttributesRead(config: Pick<Config, 'targets'>): Set<string> {
  const names = new Set<string>();
  for (const [, text] of ruleTexts(config)) for (const a of attributesOf(text, (t) => compileValue(t, { allowUnique: true }).attributes)) names.add(a);
  for (const target of Object.values(config.targets)) {
    for (const filter of target.scope ?? []) {
      if (typeof filter !== 'string') for (const a of Object.keys(filter)) names.add(a);
      else for (const a of attributesOf(filter, (t) => compileCondition(t).attributes)) names.add(a);
    }
  }
  return names;
}
