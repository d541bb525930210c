/**
 * SCIM `roles` and `entitlements` of a user, from group membership or source attributes. A rule
 * yields its value when the user is in one of its groups (or always, without `whenMemberOf`);
 * templated values that come out empty yield nothing; a value that rests on a present value it
 * could not read throws (the person is held, see mapUser). Result: sorted, de-duplicated values, or
 * null when the target does not manage this attribute at all.
 */
import type { RoleRule } from '../config/schema/index.js';
import type { SourceValue } from '../model/canonical.js';
import { compileValue, type CompiledValue, type ValueOptions } from './compiled-value.js';

export interface RoleValue {
  value: string;
  type?: string;
}

interface CompiledRoleRule {
  value: CompiledValue;
  groups: Set<string> | null;
  type?: string;
}

export type RoleMapper = (attributes: Readonly<Record<string, SourceValue>>, memberOf: ReadonlySet<string> | undefined) => RoleValue[];

function roleValue(text: string, options: ValueOptions): CompiledValue {
  const value = compileValue(text, options);
  if (value.type !== 'text') throw new Error(`"${text}" gives ${value.type === 'bool' ? 'a condition' : `a ${value.type}`}: a role's value is text`);
  return value;
}

export function compileRoles(rules: readonly RoleRule[], options: ValueOptions = {}): RoleMapper {
  const compiled: CompiledRoleRule[] = rules.map((r) => ({
    value: roleValue(r.value, options),
    groups: r.whenMemberOf === undefined ? null : new Set((Array.isArray(r.whenMemberOf) ? r.whenMemberOf : [r.whenMemberOf]).map((g) => g.toLowerCase())),
    ...(r.type ? { type: r.type } : {}),
  }));
  return (attributes, memberOf) => {
    const lowered = memberOf ? new Set([...memberOf].map((g) => g.toLowerCase())) : new Set<string>();
    const out = new Map<string, RoleValue>();
    for (const rule of compiled) {
      if (rule.groups && ![...rule.groups].some((g) => lowered.has(g))) continue;
      const value = rule.value.evaluate(attributes) as string | null;
      // A role chosen past a value that did not read (IIF(level < 5, "basic", "admin") with level
      // "five") is no decision: the person is held (RuleFailed), their roles left as they are.
      const unread = rule.value.unreadable?.(attributes);
      if (unread !== undefined) throw new Error(`'${rule.value.source}' could not read ${unread}`);
      if (value === null) continue;
      out.set(`${rule.type ?? ''}\u0000${value}`, { value, ...(rule.type ? { type: rule.type } : {}) });
    }
    return [...out.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  };
}
