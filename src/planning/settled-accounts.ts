/**
 * Accounts settled as their pages arrive: in a steady-state cycle nearly every listed account is
 * linked to a person whose desired state it already holds, and the plan has nothing for them. The
 * settler finds those while the rest of the listing is in flight, so the diff after the last page
 * (user-diff.ts) skips them, and keeps of each only a stub (its id, externalId and the attributes
 * the matching rules read) instead of the whole account: the listing's objects die young rather
 * than all 100,000 of them growing old until planning.
 *
 * Contract: a person is settled only where diffUsers would give them no operation and no warning,
 * and a stub only stands in where nothing reads more of the account than it keeps, so the plan is
 * the one diffUsers makes from the whole listing. That holds when all of these hold:
 * - the account is listed, linked by exactly one link, whose person is in the snapshot once,
 *   neither held by the source nor held off, active and in scope;
 * - the mapping has no SelectUniqueValue rule (their taken values are read off every account);
 * - the person's mapped userName is not empty, every value is sent, and diffUser finds no change,
 *   so the account carries that person's key as externalId (no other person's lookup finds it).
 * With `keepAccounts` (the group or manager diff reads the accounts of provisioned people) accounts
 * are kept whole and only the diff is skipped.
 */
import type { ScopePredicate } from '../mapping/scope.js';
import { mapUserOrFailure, RuleFailed, type UserMapping } from '../mapping/user-mapping.js';
import type { CanonicalUser, DirectorySnapshot } from '../model/canonical.js';
import { parsePath } from '../model/scim-paths.js';
import type { ServerResource } from '../model/scim.js';
import type { Link } from '../state/link-store.js';
import { matchRules } from './match-rules.js';
import type { TargetSettings } from './target-settings.js';
import { diffUser } from './user-changes.js';

export interface SettleInput {
  snapshot: DirectorySnapshot;
  mapping: UserMapping;
  inScope: ScopePredicate;
  /** The target's user links, by externalId. */
  links: ReadonlyMap<string, Link>;
  settings: Pick<TargetSettings, 'adopt' | 'match'>;
  /** User key -> names of the groups they are in (the same as diffUsers is given). */
  memberOf?: ReadonlyMap<string, ReadonlySet<string>>;
  heldOff?: ReadonlySet<string>;
  /** Keep every account whole (diffUsers collects provisioned accounts for the group and manager diffs). */
  keepAccounts: boolean;
}

/** A listed id that more than one link names: its account is never settled. */
const SHARED = Symbol('shared');

export class AccountSettler {
  /** Every listed account, in listing order: whole, or a stub where its person is settled. */
  readonly accounts: ServerResource[] = [];
  /** Settled people: source key -> their userName (the label diffUsers gives them). */
  readonly settled = new Map<string, string>();
  private readonly enabled: boolean;
  /** The person each listed id is linked to, by SCIM id. */
  private readonly personOf = new Map<string, CanonicalUser | typeof SHARED>();
  private readonly held: ReadonlySet<string>;
  /** Top-level attribute names a stub keeps (besides id and externalId), as the paths write them. */
  private readonly kept: readonly string[];

  constructor(private readonly input: SettleInput) {
    this.enabled = !input.mapping.rules.some((r) => r.value.candidates !== undefined);
    this.held = new Set(input.snapshot.heldKeys);
    this.kept = [...new Set(matchRules(input.settings).on.map((key) => {
      const path = parsePath(key);
      return path.schema ?? path.attribute;
    }))];
    if (!this.enabled) return;
    // One pass over the people; a key read twice names its link's id twice, and is left to diffUsers.
    let linked = 0;
    let shared = false;
    for (const user of input.snapshot.users) {
      const link = input.links.get(user.key);
      if (!link) continue;
      linked++;
      if (this.personOf.has(link.id)) {
        this.personOf.set(link.id, SHARED);
        shared = true;
      } else {
        this.personOf.set(link.id, user);
      }
    }
    // Links of people gone from the source share an id with someone only if some link is not one of theirs.
    if (!shared && linked === input.links.size) return;
    const keys = new Map<string, string>();
    for (const [key, link] of input.links) {
      const other = keys.get(link.id);
      if (other !== undefined && other !== key) this.personOf.set(link.id, SHARED);
      keys.set(link.id, key);
    }
  }

  /** One page of the listing, as it arrives. */
  add(page: readonly ServerResource[]): void {
    for (const account of page) {
      const label = this.enabled ? this.settle(account) : undefined;
      this.accounts.push(label === undefined || this.input.keepAccounts ? account : this.stub(account));
    }
  }

  /** The person's userName when their account already holds what they should have; else undefined. */
  private settle(account: ServerResource): string | undefined {
    const user = this.personOf.get(account.id);
    if (user === undefined || user === SHARED) return undefined;
    const key = user.key;
    if (this.held.has(key) || this.input.heldOff?.has(key) || !user.active || this.input.inScope(user) !== 'in') return undefined;
    const desired = mapUserOrFailure(this.input.mapping, user, this.input.memberOf?.get(key));
    // A rule failed: not settled, so the user diff maps them again and holds them with a warning.
    if (desired instanceof RuleFailed) return undefined;
    if (desired.userName === '' || desired.unsent !== undefined) return undefined;
    if (diffUser(this.input.mapping, desired, account, true).changes.length > 0) return undefined;
    this.settled.set(key, desired.userName);
    return desired.userName;
  }

  /** What readPath finds at each kept name (the name as written, else the first of another case) is in the stub. */
  private stub(account: ServerResource): ServerResource {
    const stub: ServerResource = { schemas: account.schemas, id: account.id };
    if (account['externalId'] !== undefined) stub['externalId'] = account['externalId'];
    for (const name of this.kept) {
      if (name in account) {
        stub[name] = account[name]!;
        continue;
      }
      const lower = name.toLowerCase();
      for (const k of Object.keys(account)) {
        if (k.toLowerCase() !== lower) continue;
        stub[k] = account[k]!;
        break;
      }
    }
    return stub;
  }
}
