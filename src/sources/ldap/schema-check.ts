/**
 * The attribute names the config names, checked against the directory's own schema (the
 * attributeTypes of its subschema entry). A name the directory does not define is absent from every
 * entry, so a typo (`title: titel`) reads as "nobody has a title" and would clear it in every app,
 * and one in `manager` or `disabled.attribute` clears every manager or reads every leaver as active.
 * `check` reports each such name with the nearest one the directory defines.
 */
import type { LdapSourceConfig } from '../../config/schema/index.js';
import { nearestName } from '../../config/nearest-name.js';
import type { LdapSearcher } from './connection.js';

/** The names (and OIDs) the schema defines, lower-cased; null when the directory shows no schema to this account. */
async function definedAttributes(searcher: LdapSearcher): Promise<Map<string, string> | null> {
  let subschema = 'cn=Subschema';
  for await (const page of searcher.search({ base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['subschemaSubentry'], paged: false })) {
    const value = page[0]?.attributes.get('subschemaSubentry')?.[0] ?? page[0]?.attributes.get('subschemasubentry')?.[0];
    if (typeof value === 'string' && value !== '') subschema = value;
  }
  const names = new Map<string, string>();
  for await (const page of searcher.search({ base: subschema, scope: 'base', filter: '(objectClass=*)', attributes: ['attributeTypes'], paged: false, absentBase: 'none' })) {
    const entry = page[0];
    const types = entry ? [...entry.attributes].find(([name]) => name.toLowerCase() === 'attributetypes')?.[1] ?? [] : [];
    for (const type of types) {
      if (typeof type !== 'string') continue;
      const oid = /^\(\s*([\d.]+)/.exec(type)?.[1];
      if (oid) names.set(oid, oid);
      const listed = /\bNAME\s+(?:'([^']+)'|\(\s*((?:'[^']+'\s*)+)\))/.exec(type);
      const all = listed?.[1] ? [listed[1]] : [...(listed?.[2] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!);
      for (const name of all) names.set(name.toLowerCase(), name);
    }
  }
  return names.size > 0 ? names : null;
}

/** Every attribute name the config writes itself (not a flavor's default), with its config path. */
function configuredNames(config: LdapSourceConfig): [path: string, name: string][] {
  const named: [string, string | null | undefined][] = [
    ['source.users.key.attribute', config.users.key?.attribute],
    ...Object.entries(config.users.attributes).map(([canonical, name]): [string, string | null] => [`source.users.attributes.${canonical}`, name]),
    ['source.users.manager', config.users.manager],
    ['source.users.disabled.attribute', config.users.disabled?.attribute],
    ['source.groups.key.attribute', config.groups?.key?.attribute],
    ['source.groups.nameAttribute', config.groups?.nameAttribute],
    ...(config.groups?.memberAttributes ?? []).map((name, i): [string, string] => [`source.groups.memberAttributes[${i}]`, name]),
    ['source.groups.memberUidAttribute', config.groups?.memberUidAttribute],
  ];
  // An attribute option (`;binary`) is not part of the name the schema defines.
  return named.flatMap(([path, name]) => (typeof name === 'string' && name !== '' ? [[path, name.split(';')[0]!] as [string, string]] : []));
}

/**
 * The config's attribute names the directory's schema does not define, one line each (empty: all
 * defined). `unchecked`: the schema could not be read by this account, so nothing was checked.
 */
export async function undefinedAttributes(searcher: LdapSearcher, config: LdapSourceConfig): Promise<{ problems: string[] } | { unchecked: string }> {
  const defined = await definedAttributes(searcher);
  if (!defined) return { unchecked: "the directory's schema (attributeTypes) is not readable by this account: attribute names were not checked" };
  const problems: string[] = [];
  for (const [path, name] of configuredNames(config)) {
    if (defined.has(name.toLowerCase())) continue;
    const near = nearestName(name, defined.values());
    problems.push(`${path}: "${name}" is not an attribute this directory defines${near ? ` (did you mean "${near}"?)` : ''}: it would read as empty on every entry`);
  }
  return { problems };
}
