/**
 * Every attribute the user wrote into a template, an expression or a scope clause must be one the source offers:
 * a misspelt `{jobtitle}` would otherwise read as empty for everyone and clear that attribute in
 * every app. Default mapping rules are not checked (they drop out when the source lacks their
 * attributes, see compileUserMapping). Pure: the source adapter says what it offers.
 */
import { compileValue } from './compiled-value.js';
import { DEFAULT_USER_MAPPING } from './default-user-mapping.js';
import type { Config } from '../config/schema/index.js';
import { nearestName } from '../config/nearest-name.js';
import { sourceEntries } from '../config/source-setup.js';
import { expressionOptions } from './expression-options.js';
import { compileCondition } from './scope.js';

/** Problems, each with its config path, e.g. `targets.app.mapping.title: "{jobtitle}" names attribute jobtitle, ...`. */
export function attributeProblems(config: Config, offered: ReadonlySet<string>, source: string): string[] {
  const problems: string[] = [];
  const options = expressionOptions(config);
  // Every attribute the config reads by name: a name it reads is meant as written.
  const referenced = new Set<string>();
  const absent = (path: string, attribute: string, template?: string): void => {
    referenced.add(attribute);
    if (offered.has(attribute)) return;
    const near = nearestName(attribute, offered);
    problems.push(
      `${path}: ${template !== undefined ? JSON.stringify(template) : 'the clause'} names attribute ${attribute}, which the source (${source}) does not have` +
        (near ? `; did you mean ${near}?` : ''),
    );
  };
  const template = (path: string, text: string | undefined): void => {
    if (text === undefined) return;
    let attributes: readonly string[];
    try {
      attributes = compileValue(text, { ...options, allowUnique: true }).attributes;
    } catch {
      return; // checkMappings reports values that do not compile
    }
    for (const attribute of new Set(attributes)) absent(path, attribute, text);
  };
  for (const [name, target] of Object.entries(config.targets)) {
    const at = `targets.${name}`;
    for (const [path, rule] of Object.entries(target.mapping)) {
      if (rule === null) continue;
      if (typeof rule === 'string') template(`${at}.mapping.${path}`, rule);
      else if ('values' in rule) template(`${at}.mapping.${path}.values`, rule.values);
      else {
        template(`${at}.mapping.${path}.value`, rule.value);
        const defaults = typeof rule.default === 'string' ? [rule.default] : (rule.default ?? []);
        defaults.forEach((d, i) => template(`${at}.mapping.${path}.default${Array.isArray(rule.default) ? `[${i}]` : ''}`, d));
      }
    }
    (target.scope ?? []).forEach((filter, i) => {
      if (typeof filter !== 'string') {
        for (const attribute of Object.keys(filter)) absent(`${at}.scope[${i}].${attribute}`, attribute);
        return;
      }
      let attributes: readonly string[];
      try {
        attributes = compileCondition(filter, options).attributes;
      } catch {
        return;
      }
      for (const attribute of attributes) absent(`${at}.scope[${i}]`, attribute, filter);
    });
    for (const set of ['roles', 'entitlements'] as const) {
      (target[set] ?? []).forEach((rule, i) => template(`${at}.${set}[${i}].value`, rule.value));
    }
  }
  if (config.source.type === 'joined') for (const s of Object.values(config.source.join.secondaries)) for (const name of s.on) referenced.add(name);
  problems.push(...miscasedDefaults(config, referenced));
  return problems;
}

/**
 * A canonical name written in the config (source.columns, an LDAP source's users.attributes) that
 * the default mappings read in another case (`username` for userName): a typo, and the default
 * rule would drop out silently, leaving everyone without it (without a userName, nobody can be
 * planned). Only names the config writes, and reads nowhere itself (`{Email}` in a mapping, a join's
 * `on`): a header column called "Department", or a name a mapping uses, is meant as it is.
 */
function miscasedDefaults(config: Config, referenced: ReadonlySet<string>): string[] {
  const texts = Object.values(DEFAULT_USER_MAPPING).flatMap((rule) => {
    if (rule === null) return [];
    if (typeof rule === 'string') return [rule];
    return 'value' in rule ? [rule.value, ...[rule.default ?? []].flat()] : [];
  });
  const read = new Set(texts.flatMap((text) => (text === undefined ? [] : compileValue(text).attributes)));
  const byLower = new Map([...read].map((name) => [name.toLowerCase(), name]));
  const problems: string[] = [];
  for (const { path, config: source } of sourceEntries(config.source)) {
    const [where, names] = source.type === 'csv' ? [`${path}.columns`, Object.keys(source.columns)] : source.type === 'ldap' ? [`${path}.users.attributes`, Object.keys(source.users.attributes)] : ['', []];
    for (const name of names) {
      const meant = byLower.get(name.toLowerCase());
      if (meant !== undefined && meant !== name && !names.includes(meant) && !referenced.has(name)) {
        problems.push(`${where}.${name}: the default mappings read ${meant}, not ${name}; did you mean ${meant}? (attribute names are case-sensitive)`);
      }
    }
  }
  return problems;
}
