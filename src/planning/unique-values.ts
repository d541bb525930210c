/**
 * SelectUniqueValue: a mapping rule whose value is the first of its candidates that no account in
 * the target holds. Pure, and deterministic across runs: a person who has an account keeps the
 * value it holds (so a second run, or a namesake arriving later, changes nothing for them); a
 * person created in this plan takes the first candidate that neither the target's listing nor an
 * earlier create of the same plan (in source order) holds. Values compare ignoring case, as
 * userName and emails do on every server.
 */
import type { CanonicalUser } from '../model/canonical.js';
import { readPath } from '../model/scim-paths.js';
import type { ServerResource } from '../model/scim.js';
import type { CompiledRule, DesiredUser, UserMapping } from '../mapping/user-mapping.js';

interface UniqueRule {
  readonly index: number;
  readonly rule: CompiledRule;
  /** Lower-cased values held: built from the listing on first use, grown by each create planned. */
  taken?: Set<string>;
}

/** Every candidate is held: the person cannot be created (the caller says so and plans nothing). */
export interface Exhausted {
  readonly path: string;
  readonly candidates: readonly string[];
}

export class UniqueValues {
  private readonly rules: UniqueRule[];

  constructor(
    private readonly mapping: UserMapping,
    private readonly accounts: readonly ServerResource[],
  ) {
    this.rules = mapping.rules.flatMap((rule, index) => (rule.value.candidates ? [{ index, rule }] : []));
  }

  /** The mapping has a SelectUniqueValue rule. */
  get any(): boolean {
    return this.rules.length > 0;
  }

  /** Whether the rule at this path key picks a unique value. */
  picks(key: string): boolean {
    return this.rules.some((r) => r.rule.path.key === key);
  }

  private takenOf(unique: UniqueRule): Set<string> {
    if (unique.taken) return unique.taken;
    const taken = new Set<string>();
    for (const account of this.accounts) {
      const v = readPath(account, unique.rule.path);
      if (typeof v === 'string' && v !== '') taken.add(v.toLowerCase());
    }
    unique.taken = taken;
    return taken;
  }

  /**
   * The desired user with each unique rule's value settled: the account's own value when it has
   * one (`account` null for a create), else the first free candidate, which counts as held from
   * then on. Exhausted when no candidate is free.
   */
  settle(user: CanonicalUser, desired: DesiredUser, account: ServerResource | null): DesiredUser | Exhausted {
    if (this.rules.length === 0) return desired;
    const values = desired.values.slice();
    for (const unique of this.rules) {
      const own = account ? readPath(account, unique.rule.path) : null;
      if (typeof own === 'string' && own !== '') {
        values[unique.index] = own;
        continue;
      }
      const candidates = unique.rule.value.candidates!(user.attributes);
      const taken = this.takenOf(unique);
      const free = candidates.find((c) => !taken.has(c.toLowerCase()));
      if (free === undefined) {
        // An account without the value keeps going without it; a create cannot.
        if (account || candidates.length === 0) {
          values[unique.index] = null;
          continue;
        }
        return { path: unique.rule.path.key, candidates };
      }
      taken.add(free.toLowerCase());
      values[unique.index] = free;
    }
    const userName = values[this.mapping.indexOf.get('userName') ?? -1];
    return { ...desired, values, userName: typeof userName === 'string' ? userName : '' };
  }
}

export function isExhausted(settled: DesiredUser | Exhausted): settled is Exhausted {
  return 'candidates' in settled;
}
