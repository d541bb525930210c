/**
 * Reads groups into canonical groups: members by DN (groupOfNames/member, groupOfUniqueNames/
 * uniqueMember, AD group/member with range retrieval), by uid (posixGroup/memberUid) or from each
 * entry's memberOf; nesting expanded here or by AD's in-chain matching rule, or kept direct. Cycles
 * are SourceIssues; members that are not among the users read (outside the user base or filter) are
 * dropped with one warning per group.
 */
import { escapeFilter } from 'ldapts';
import { nestingCycles, resolveMembership } from '../../mapping/group-membership.js';
import type { CanonicalGroup, SourceIssue } from '../../model/canonical.js';
import { isBinaryFormat } from './binary-key.js';
import { fetchAttributeVia, type LdapSearcher, type SearchRequest } from './connection.js';
import { normalizeDn } from './dn.js';
import { isBlank, stringsOf, type LdapEntry } from './entry.js';
import type { LdapSettings } from './flavor-defaults.js';
import { completeRanges, hasRanges } from './range.js';
import { entryKey } from './user-entry.js';
import type { UsersRead } from './users.js';
import { joined } from '../../model/joined-lists.js';

/** AD's LDAP_MATCHING_RULE_IN_CHAIN: walks nested membership on the server. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';

type GroupSettings = NonNullable<LdapSettings['groups']>;

/** The server expands nesting (in-chain rule), so member attributes are not read at all. */
function serverExpands(settings: GroupSettings): boolean {
  return settings.inChain && settings.nested === 'expand';
}

interface RawGroup {
  readonly dn: string;
  readonly key: string;
  readonly name: string;
  /** The entry has no name attribute: `name` is its DN. */
  readonly unnamed: boolean;
  readonly memberDns: string[];
  readonly memberUids: string[];
  readonly memberOf: string[];
}

export interface GroupsRead {
  readonly groups: CanonicalGroup[];
  readonly issues: SourceIssue[];
  readonly warnings: SourceIssue[];
  readonly heldKeys: Set<string>;
  readonly entries: number;
}

const SHOWN = 5;

function dropWarning(group: RawGroup, dropped: readonly string[]): SourceIssue {
  const shown = dropped.slice(0, SHOWN).join('; ');
  const more = dropped.length > SHOWN ? ` and ${dropped.length - SHOWN} more` : '';
  return {
    code: 'LDAP_MEMBER_NOT_A_USER',
    message: `${group.dn}: ${dropped.length} member${dropped.length === 1 ? '' : 's'} dropped, not among the users read (outside source.users.base or its filter): ${shown}${more}`,
    ref: { location: group.dn },
  };
}

/**
 * A group without its name attribute is named by its DN. Said for each such group: a misspelt or
 * hidden name attribute renames every group in every target (which the safety check counts).
 */
function unnamedWarning(dn: string, settings: GroupSettings): SourceIssue {
  return {
    code: 'LDAP_MISSING_GROUP_NAME',
    message: `${dn}: no ${settings.nameAttribute} (source.groups.nameAttribute): the group is named by its DN`,
    ref: { location: dn },
  };
}

function toRaw(entry: LdapEntry, settings: GroupSettings): RawGroup | SourceIssue {
  const keyed = entryKey(entry, settings.key);
  if (!('key' in keyed)) return { code: keyed.code, message: `${entry.dn}: ${keyed.message}`, ref: { location: entry.dn } };
  const name = stringsOf(entry, settings.nameAttribute)[0];
  return {
    dn: entry.dn,
    key: keyed.key,
    name: name ?? entry.dn,
    unnamed: name === undefined,
    // One member attribute: its list as it is; several (member and uniqueMember by default) joined
    // whole (a large group has 100,000 members).
    memberDns: settings.memberAttributes.length === 1 ? stringsOf(entry, settings.memberAttributes[0]!) : joined(settings.memberAttributes.map((a) => stringsOf(entry, a))),
    memberUids: settings.memberUidAttribute ? stringsOf(entry, settings.memberUidAttribute) : [],
    memberOf: stringsOf(entry, 'memberOf'),
  };
}

/** The search that reads the groups (with what their members are read by). */
export function groupSearch(settings: GroupSettings): SearchRequest {
  const requested = new Set([settings.key.attribute, settings.nameAttribute]);
  if (settings.membership === 'memberOf') requested.add('memberOf');
  else if (!serverExpands(settings)) {
    for (const a of settings.memberAttributes) requested.add(a);
    if (settings.memberUidAttribute) requested.add(settings.memberUidAttribute);
  }
  return { base: settings.base, scope: settings.scope, filter: settings.filter, attributes: [...requested], binaryAttributes: groupKeyBinary(settings) };
}

function groupKeyBinary(settings: GroupSettings): string[] {
  return isBinaryFormat(settings.key.format) ? [settings.key.attribute, settings.key.attribute.toLowerCase()] : [];
}

async function readRawGroups(
  searcher: LdapSearcher,
  settings: GroupSettings,
  issues: SourceIssue[],
  warnings: SourceIssue[],
  heldKeys: Set<string>,
  pages: AsyncIterable<readonly LdapEntry[]>,
): Promise<{ raw: RawGroup[]; entries: number }> {
  const fetch = fetchAttributeVia(searcher, groupKeyBinary(settings));
  const raw: RawGroup[] = [];
  const seen = new Map<string, string>();
  let entries = 0;
  for await (const page of pages) {
    for (const entry of page) {
      entries++;
      const group = toRaw(hasRanges(entry) ? await completeRanges(entry, fetch) : entry, settings);
      if (!('key' in group)) {
        issues.push(group);
        continue;
      }
      const first = seen.get(group.key);
      if (first !== undefined) {
        issues.push({ code: 'LDAP_DUPLICATE_KEY', message: `${group.dn}: ${settings.key.attribute} "${group.key}" is also the key of ${first}`, ref: { location: group.dn } });
        heldKeys.add(group.key);
        continue;
      }
      seen.set(group.key, group.dn);
      if (group.unnamed) warnings.push(unnamedWarning(group.dn, settings));
      raw.push(group);
    }
  }
  return { raw, entries };
}

/** Transitive user members of each group, asked of the server (AD), one paged search per group. */
async function inChainMembers(searcher: LdapSearcher, raw: readonly RawGroup[], users: UsersRead, userSettings: LdapSettings['users']): Promise<Map<string, string[]>> {
  const members = new Map<string, string[]>();
  for (const group of raw) {
    const keys: string[] = [];
    const filter = `(&${userSettings.filter}${escapeFilter`(memberOf:${IN_CHAIN_RULE}:=${group.dn})`})`;
    for await (const page of searcher.search({ base: userSettings.base, scope: userSettings.scope, filter, attributes: ['1.1'] })) {
      for (const entry of page) {
        const key = users.keyOfDn(entry.dn);
        if (key !== undefined) keys.push(key);
      }
    }
    members.set(group.key, [...new Set(keys)].sort());
  }
  return members;
}

/** `pages`: the group search already under way (see readWith), or it is started here. */
export async function readGroups(searcher: LdapSearcher, settings: LdapSettings, users: UsersRead, pages?: AsyncIterable<readonly LdapEntry[]>): Promise<GroupsRead> {
  const groupSettings = settings.groups!;
  const issues: SourceIssue[] = [];
  const warnings: SourceIssue[] = [];
  const heldKeys = new Set<string>();
  const { raw, entries } = await readRawGroups(searcher, groupSettings, issues, warnings, heldKeys, pages ?? searcher.search(groupSearch(groupSettings)));
  const byDn = new Map(raw.map((g) => [normalizeDn(g.dn), g]));
  const edges = new Map(raw.map((g) => [g.key, { users: new Set<string>(), groups: new Set<string>() }]));

  if (groupSettings.membership === 'memberOf') {
    for (const [userKey, groupDns] of users.memberOf) {
      for (const dn of groupDns) {
        const group = byDn.get(dn);
        if (group) edges.get(group.key)!.users.add(userKey);
      }
    }
    for (const child of raw) {
      for (const dn of child.memberOf) {
        const parent = byDn.get(normalizeDn(dn));
        if (parent) edges.get(parent.key)!.groups.add(child.key);
      }
    }
  } else if (!serverExpands(groupSettings)) {
    for (const group of raw) {
      const own = edges.get(group.key)!;
      const dropped: string[] = [];
      for (const member of group.memberDns) {
        // An empty DN is the placeholder OpenLDAP groups keep when their last member leaves.
        if (isBlank(member)) continue;
        const userKey = users.keyOfDn(member);
        const subgroup = userKey === undefined ? byDn.get(normalizeDn(member)) : undefined;
        if (userKey !== undefined) own.users.add(userKey);
        else if (subgroup) own.groups.add(subgroup.key);
        else dropped.push(member);
      }
      for (const uid of group.memberUids) {
        const userKey = users.keyByUid().get(uid.toLowerCase());
        if (userKey !== undefined) own.users.add(userKey);
        else dropped.push(`${groupSettings.memberUidAttribute}=${uid}`);
      }
      if (dropped.length > 0) warnings.push(dropWarning(group, dropped));
    }
  }

  const direct: CanonicalGroup[] = raw.map((g) => ({
    key: g.key,
    displayName: g.name,
    memberKeys: [...edges.get(g.key)!.users].sort(),
    groupKeys: [...edges.get(g.key)!.groups].sort(),
    ref: { location: g.dn },
  }));
  const inChain = serverExpands(groupSettings);
  // Member sets are flattened only when they are handed on flattened; otherwise only cycles matter.
  const flat = groupSettings.nested === 'expand' && !inChain ? resolveMembership(direct, 'flatten') : undefined;
  const dnOf = new Map(raw.map((g) => [g.key, g.dn]));
  for (const cycle of (flat ?? nestingCycles(direct)).cycleKeys) {
    const dns = cycle.map((k) => dnOf.get(k)!);
    issues.push({
      code: 'LDAP_GROUP_CYCLE',
      message:
        `${dns[0]}: nested groups form a cycle (${dns.join(' -> ')} -> ${dns[0]}); ` +
        (groupSettings.nested === 'expand' ? 'each group in it gets the members of all' : 'their groupKeys are passed on as they are'),
      ref: { location: dns[0]! },
    });
  }
  const chained = inChain ? await inChainMembers(searcher, raw, users, settings.users) : undefined;
  const groups = direct.map((g): CanonicalGroup => {
    if (chained) return { ...g, memberKeys: chained.get(g.key)!, groupKeys: [] };
    if (flat) return { ...g, memberKeys: [...flat.members.get(g.key)!].sort(), groupKeys: [] };
    return g;
  });
  return { groups, issues, warnings, heldKeys, entries };
}
