/**
 * Every attribute the user wrote into a template, an expression or a scope clause must be one the source offers:
 * a misspelt `{jobtitle}` would otherwise read as empty for everyone and clear that attribute in
 * every app. Default mapping rules are not checked (they drop out when the source lacks their
 * attributes, see compileUserMapping). Pure: the source adapter says what it offers.
 */
import { compileValue } from './compiled-value.js';
import type { Config } from '../config/schema/index.js';
import { nearestName } from '../config/nearest-name.js';
import { expressionOptions } from './expression-options.js';
import { compileCondition } from './scope.js';

/** Problems, each with its config path, e.g. `targets.app.mapping.title: "{jobtitle}" names attribute jobtitle, ...`. */
export function attributeProblems(config: Config, offered: ReadonlySet<string>, source: string): string[] {
  const problems: string[] = [];
  const options = expressionOptions(config);
  const absent = (path: string, attribute: string, template?: string): void => {
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
  return problems;
}
