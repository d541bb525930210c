/**
 * SCIM `roles` and `entitlements` of a user, from group membership or source attributes. A rule
 * yields its value when the user is in one of its groups (or always, without `whenMemberOf`);
 * templated values that come out empty yield nothing. Result: sorted, de-duplicated values, or
 * null when the target does not manage this attribute at all.
 */
import type { RoleRule } from '../config/schema/index.js';
import type { SourceValue } from '../model/canonical.js';
import { compileTemplate, type CompiledTemplate } from './template.js';

export interface RoleValue {
  value: string;
  type?: string;
}

interface CompiledRoleRule {
  value: CompiledTemplate;
  groups: Set<string> | null;
  type?: string;
}

export type RoleMapper = (attributes: Readonly<Record<string, SourceValue>>, memberOf: ReadonlySet<string> | undefined) => RoleValue[];

export function compileRoles(rules: readonly RoleRule[]): RoleMapper {
  const compiled: CompiledRoleRule[] = rules.map((r) => ({
    value: compileTemplate(r.value),
    groups: r.whenMemberOf === undefined ? null : new Set((Array.isArray(r.whenMemberOf) ? r.whenMemberOf : [r.whenMemberOf]).map((g) => g.toLowerCase())),
    ...(r.type ? { type: r.type } : {}),
  }));
  return (attributes, memberOf) => {
    const lowered = memberOf ? new Set([...memberOf].map((g) => g.toLowerCase())) : new Set<string>();
    const out = new Map<string, RoleValue>();
    for (const rule of compiled) {
      if (rule.groups && ![...rule.groups].some((g) => lowered.has(g))) continue;
      const value = rule.value.evaluate(attributes);
      if (value === null) continue;
      out.set(`${rule.type ?? ''}\u0000${value}`, { value, ...(rule.type ? { type: rule.type } : {}) });
    }
    return [...out.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  };
}
