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
const SHARED = -1;

/** People indexed between two turns of the event loop (`built`): a few milliseconds' work. */
const INDEX_SLICE = 10_000;

/**
 * The people settled while the listing was read, with the label diffUsers gives them (their
 * userName), by their place in `users` (the snapshot's): one array store per person settled rather
 * than a 100,000-entry map grown while the pages arrive, and diffUsers, walking the same array,
 * reads each person's by index. By key only for the few who ask so (people gone from the source).
 */
export interface SettledPeople {
  /** The snapshot's users the places are in. */
  readonly users: readonly CanonicalUser[];
  readonly size: number;
  /** The label of users[index], or undefined when they are not settled. */
  at(index: number): string | undefined;
  has(key: string): boolean;
  keys(): Iterable<string>;
}

class SettledByPlace implements SettledPeople {
  private readonly labels: (string | undefined)[] = [];
  private count = 0;
  private byKey: Map<string, string> | undefined;

  constructor(readonly users: readonly CanonicalUser[]) {
    // Pushed, not new Array(n): a large array made with its length may get slow dictionary elements,
    // and the places are settled in the listing's order, not the source's.
    for (let i = 0; i < users.length; i++) this.labels.push(undefined);
  }

  get size(): number {
    return this.count;
  }

  at(index: number): string | undefined {
    return this.labels[index];
  }

  /** Settles users[index] (once: the settler settles each listed account once, and each person has one). */
  settle(index: number, label: string): void {
    if (this.labels[index] === undefined) this.count++;
    this.labels[index] = label;
    this.byKey = undefined;
  }

  private keyed(): Map<string, string> {
    if (!this.byKey) {
      this.byKey = new Map();
      for (let i = 0; i < this.labels.length; i++) if (this.labels[i] !== undefined) this.byKey.set(this.users[i]!.key, this.labels[i]!);
    }
    return this.byKey;
  }

  has(key: string): boolean {
    return this.keyed().has(key);
  }

  keys(): Iterable<string> {
    return this.keyed().keys();
  }
}

export class AccountSettler {
  /** Every listed account, in listing order: whole, or a stub where its person is settled. */
  readonly accounts: ServerResource[] = [];
  /** Settled people and their userName (the label diffUsers gives them). */
  readonly settled: SettledPeople;
  private readonly places: SettledByPlace;
  private readonly enabled: boolean;
  /** The place in the snapshot's users of the person each listed id is linked to, by SCIM id (SHARED: more than one link names it). */
  private readonly personOf = new Map<string, number>();
  private readonly held: ReadonlySet<string>;
  /** Top-level attribute names a stub keeps (besides id and externalId), as the paths write them. */
  private readonly kept: readonly string[];
  /** The schemas array the last stub kept (schemasOf). */
  private lastSchemas: string[] | undefined;
  /** While personOf is built: people with a link so far, and whether an id was named twice. */
  private linkedPeople = 0;
  private sharedId = false;

  /**
   * `indexed` false: the lookup of who each listed id is linked to is left for `indexSlice` and
   * `indexDone` (see `built`).
   */
  constructor(
    private readonly input: SettleInput,
    indexed = true,
  ) {
    this.places = new SettledByPlace(input.snapshot.users);
    this.settled = this.places;
    this.enabled = !input.mapping.rules.some((r) => r.value.candidates !== undefined);
    this.held = new Set(input.snapshot.heldKeys);
    this.kept = [...new Set(matchRules(input.settings).on.map((key) => {
      const path = parsePath(key);
      return path.schema ?? path.attribute;
    }))];
    if (!indexed || !this.enabled) return;
    this.indexSlice(0, input.snapshot.users.length);
    this.indexDone();
  }

  /**
   * A settler whose lookup is built a slice of people at a time, awaiting `pause` between slices
   * (the caller's turn of the event loop): built for 100,000 people in one go, it held the main
   * thread for about a tenth of a second while the listing's answers waited, and the server, sent no
   * new request, idled.
   */
  static async built(input: SettleInput, pause: () => Promise<unknown>, slice = INDEX_SLICE): Promise<AccountSettler> {
    const settler = new AccountSettler(input, false);
    if (!settler.enabled) return settler;
    const n = input.snapshot.users.length;
    for (let from = 0; from < n; from += slice) {
      settler.indexSlice(from, Math.min(n, from + slice));
      await pause();
    }
    settler.indexDone();
    return settler;
  }

  /** Links of people from..to-1 into personOf; a key read twice names its link's id twice, and is left to diffUsers. */
  private indexSlice(from: number, to: number): void {
    const users = this.input.snapshot.users;
    for (let i = from; i < to; i++) {
      const link = this.input.links.get(users[i]!.key);
      if (!link) continue;
      this.linkedPeople++;
      // One lookup: the size says whether the id was named before (then it is overwritten as shared).
      const before = this.personOf.size;
      this.personOf.set(link.id, i);
      if (this.personOf.size === before) {
        this.personOf.set(link.id, SHARED);
        this.sharedId = true;
      }
    }
  }

  /** After the last slice: ids also named by the links of people gone from the source are shared too. */
  private indexDone(): void {
    // Links of people gone from the source share an id with someone only if some link is not one of theirs.
    if (!this.sharedId && this.linkedPeople === this.input.links.size) return;
    const keys = new Map<string, string>();
    for (const [key, link] of this.input.links) {
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
    const place = this.personOf.get(account.id);
    if (place === undefined || place === SHARED) return undefined;
    const user = this.input.snapshot.users[place]!;
    const key = user.key;
    if (this.held.has(key) || this.input.heldOff?.has(key) || !user.active || this.input.inScope(user) !== 'in') return undefined;
    const desired = mapUserOrFailure(this.input.mapping, user, this.input.memberOf?.get(key));
    // A rule failed: not settled, so the user diff maps them again and holds them with a warning.
    if (desired instanceof RuleFailed) return undefined;
    if (desired.userName === '' || desired.unsent !== undefined) return undefined;
    if (diffUser(this.input.mapping, desired, account, true).changes.length > 0) return undefined;
    this.places.settle(place, desired.userName);
    return desired.userName;
  }

  /**
   * The account's schemas, or the array the stub before kept when it lists the same ones (as every
   * account of a listing mostly does): stubs outlive the listing, and a copy of the same URN and
   * its array for each of 100,000 of them was a third of what each stub kept alive. Stubs, like
   * every listed account, are read, never changed (a PUT body is built on a structuredClone).
   */
  private schemasOf(schemas: string[]): string[] {
    const last = this.lastSchemas;
    if (last !== undefined && Array.isArray(schemas) && schemas.length === last.length) {
      let same = true;
      for (let i = 0; i < last.length && same; i++) same = schemas[i] === last[i];
      if (same) return last;
    }
    if (Array.isArray(schemas)) this.lastSchemas = schemas;
    return schemas;
  }

  /** What readPath finds at each kept name (the name as written, else the first of another case) is in the stub. */
  private stub(account: ServerResource): ServerResource {
    const stub: ServerResource = { schemas: this.schemasOf(account.schemas), id: account.id };
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
