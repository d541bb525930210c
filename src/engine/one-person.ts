/**
 * A few people on demand (`explain`, `provision`, `deprovision`, and the service's change-driven
 * batches): the same planner as a cycle, fed with those people alone. The source is asked for them
 * (SourceDirectory.readOne, or one read narrowed to them) and each target for their accounts, by
 * link, externalId or userName, instead of listing everyone; the planned operations are then cut
 * down to what concerns them (a membership change of a group touches only them, never the members
 * this narrow read did not see).
 *
 * On a server that returns group members nowhere (AWS), their memberships come from the member
 * memory where it answers for them, by the cycles' rule (planning/member-checks.ts), and every other
 * group is asked about them alone, one request per group and person; the memory is only read here
 * (engine/member-reads.ts), the executor keeps it for the writes. One that cannot be read is no
 * reason to hold anyone back (an emergency deprovision least of all): everything is asked, as
 * before the memory, and the plan warns.
 */
import { randomUUID } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { prepareCredentialDigests } from '../config/target-fingerprint.js';
import { ConfigError, NotFoundError, asked, describeError, quoting, type Quoted } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import { createTargetRuntime, groupSettings, targetQuirks, targetSettings } from '../execution/target-runtime.js';
import { supportsOperator } from '../config/profiles.js';
import { compileScope, explainScope, scopeText, type ScopeExplanation } from '../mapping/scope.js';
import { resolveMembership } from '../mapping/group-membership.js';
import { sourceAttributesFeeding } from '../audit/redacted-sources.js';
import { buildUserResource, desiredWorkEmail, mapUserOrFailure, RuleFailed, type DesiredUser, type UserMapping } from '../mapping/user-mapping.js';
import { matchRules, WORK_EMAIL } from '../planning/match-rules.js';
import type { CanonicalUser, DirectorySnapshot } from '../model/canonical.js';
import { operationsOf, type Operation, type Plan, type TargetPlan } from '../model/plan.js';
import type { JsonObject, ServerResource } from '../model/scim.js';
import type { LookupAttribute } from '../targets/scim-target.js';
import { buildPlan, planTarget } from '../planning/build-plan.js';
import { holdsInEffect, type EmergencyHold } from '../planning/emergency-holds.js';
import { personDigest } from '../planning/preconditions.js';
import type { Provisioned } from '../planning/user-diff.js';
import { createSource } from '../sources/create-source.js';
import { mergeSnapshots, narrowSnapshot } from '../sources/source-directory.js';
import type { Link, LinkStore } from '../state/link-store.js';
import type { RunState } from './run-state.js';
import { expressionOptions } from '../mapping/expression-options.js';
import { rejectionsOf } from './staged-sets.js';
import type { DiscoveryMemo } from './discovery-memo.js';
import { dirtyReadHold, discoverTarget, linkedAccountIds, listGroups, sourceAttributes, userMapping } from './make-plan.js';
import { planBinding } from './plan-binding.js';
import { parkedFor } from './parked-changes.js';
import type { WriteMemory } from '../state/write-memory.js';
import type { PeopleReading } from './member-reads.js';

/** How the person's account in a target was found. */
export type MatchedBy = 'link' | 'externalId' | 'userName' | 'email' | 'none';

export interface PersonInTarget {
  target: string;
  scope?: ScopeExplanation;
  matchedBy: MatchedBy;
  account?: ServerResource;
  /** The SCIM resource the mapping makes of the person (absent: not in the source, or held). */
  mapped?: JsonObject;
  /** The target's adoption rule: whether an account found by userName or email is taken over. */
  adopt?: 'none' | 'userName' | 'email';
  /** What reading this target failed on. */
  error?: string;
}

/** What the planner saw of one person: their source record, hold and account in each target. */
export interface PersonView {
  key: string;
  /** Absent: not in the source. */
  user?: CanonicalUser;
  /** The source rejected this person's record (an invalid or duplicate row): left alone everywhere. */
  sourceHeld: boolean;
  /** The emergency hold in effect for this person, if any. */
  hold?: EmergencyHold;
  targets: PersonInTarget[];
}

export interface PersonPlan extends PersonView {
  plan: Plan;
  runtimes: Map<string, TargetRuntime>;
}

/** Several people planned together (the service's batches): one source read, one pass per target. */
export interface PeoplePlan {
  people: PersonView[];
  plan: Plan;
  runtimes: Map<string, TargetRuntime>;
  /** How many people the source read had, when it read the whole source (DirectorySnapshot.population). */
  population?: number;
}

/** What planning a few people reads of the state: links, holds, rejections, and the member memory (read only). */
export type PeopleState = Pick<RunState, 'links' | 'holds' | 'rejections' | 'members'>;

export interface PersonPlanOptions {
  /** Only these targets (the --target names). */
  only?: readonly string[];
  /** Leave out the changes parked in this memory (the service's automatic syncs); absent: try them again (a provision asked for by hand). */
  parked?: WriteMemory;
  /** Target runtimes to reuse (the service keeps its clients, their connections and discovery, across batches). */
  runtimes?: Map<string, TargetRuntime>;
  /** The runtimes' discovery documents to reuse while young (the service's batches). */
  discovery?: DiscoveryMemo;
  /** Told each step as it runs (provision prints them); a step naming the person asked for quotes their key (Quoted). */
  step?: (line: string | Quoted) => void;
  /** Plan the person as held off by this new hold (deprovision, before storing it); its digest is taken from this read. */
  holdOff?: Omit<EmergencyHold, 'digest'>;
  /**
   * When the source was read whole (a CSV) and some of these people are not in it: hold the
   * deprovisions with this reason (the service with no full read yet to judge the read's size by:
   * a half-written export reads its missing rows as leavers).
   */
  holdMissingFromWholeRead?: string;
}


async function accountById(runtime: TargetRuntime, id: string): Promise<ServerResource | undefined> {
  try {
    return await runtime.client.get('Users', id);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** Every account carrying a key (externalId is caseExact): null when the target cannot be asked for them. */
type KeyedReader = ((key: string) => Promise<ServerResource[]>) | null;

/** The accounts holding a value of an attribute, as an `eq` filter finds them. */
type Finder = (attribute: LookupAttribute, value: string) => Promise<ServerResource[]>;

/** Whether `account` holds `value` as an `eq` filter compares: externalId exactly, the others ignoring case. */
function holds(account: ServerResource, attribute: LookupAttribute, value: string): boolean {
  if (attribute === 'externalId') return account['externalId'] === value;
  const lower = value.toLowerCase();
  if (attribute === 'emails.value') {
    const emails = account['emails'];
    return Array.isArray(emails) && emails.some((e) => typeof e === 'object' && e !== null && typeof (e as JsonObject)['value'] === 'string' && ((e as JsonObject)['value'] as string).toLowerCase() === lower);
  }
  const held = account[attribute];
  return typeof held === 'string' && held.toLowerCase() === lower;
}

/**
 * How a target is asked for accounts: by filter where it takes one; where it does not, its listing,
 * read once when a lookup first needs it (a person with no link, or an emergency deprovision), and
 * searched here. A person read alone costs that target a listing then, as a cycle does; before,
 * provisioning anyone unlinked there failed the target.
 */
function finderFor(runtime: TargetRuntime, canFilter: boolean, pageSize: number | undefined): Finder {
  if (canFilter) return (attribute, value) => runtime.client.findBy('Users', attribute, value);
  let listing: Promise<ServerResource[]> | undefined;
  return async (attribute, value) => (await (listing ??= runtime.client.listAll('Users', { pageSize }))).filter((a) => holds(a, attribute, value));
}

/**
 * The person's account: by link, then externalId, then the target's matching rules in order (those
 * a target can be asked by: userName and the work email; a rule on another attribute needs the full
 * listing of a cycle). `seen` holds every account a lookup returned, so the planner meets an
 * ambiguous match (two accounts) as a cycle would.
 *
 * The accounts carrying the key are asked for first, linked or not: a second account an admin
 * copied the key onto is scim-sync's by that key (planning/user-diff.ts), deprovisioned with the
 * person and reported while they stay, and only this answer shows it. It holds the linked account
 * as a rule, so a linked person still costs one request; the link's GET is for an account that no
 * longer carries the key, or a target that cannot be asked by it (`keyed` null).
 */
async function findAccount(
  runtime: TargetRuntime,
  key: string,
  link: Link | undefined,
  lookups: readonly { by: 'userName' | 'email'; value: string }[],
  keyed: KeyedReader,
  find: Finder,
): Promise<{ matchedBy: MatchedBy; account?: ServerResource; seen: ServerResource[] }> {
  const carrying = keyed ? await keyed(key) : null;
  if (link) {
    const linked = carrying?.find((a) => a.id === link.id) ?? (await accountById(runtime, link.id));
    if (linked) return { matchedBy: 'link', account: linked, seen: [linked, ...(carrying ?? [])] };
  }
  const byKey = carrying ?? (await find('externalId', key));
  if (byKey[0]) return { matchedBy: 'externalId', account: byKey[0], seen: byKey };
  for (const { by, value } of lookups) {
    const found = await find(by === 'email' ? 'emails.value' : 'userName', value);
    if (found[0]) return { matchedBy: by, account: found[0], seen: found };
  }
  return { matchedBy: 'none', seen: [] };
}

/**
 * How this target is asked for the accounts carrying a key: one `externalId eq` filter per person
 * where it takes filters. Where it does not, an emergency deprovision reads the whole listing once
 * (cutting access off must reach every account, as a cycle's would), and anything else does not ask
 * (null): the linked account is read by id, and the plan says what was not looked for.
 */
function keyedReader(find: Finder, canFilter: boolean, emergency: boolean): KeyedReader {
  if (!canFilter && !emergency) return null;
  // A server that ignores the filter answers everyone: only the accounts that carry the key are theirs.
  return async (key) => (await find('externalId', key)).filter((a) => a['externalId'] === key);
}

/**
 * The accounts that hold a candidate of the person's SelectUniqueValue rules (on userName or
 * emails, the attributes a target can be asked by), so the planner steps past them as a full
 * listing would let it. Other unique paths are not looked up: a listing is the only way to know.
 */
async function candidateHolders(find: Finder, mapping: UserMapping, user: CanonicalUser): Promise<ServerResource[]> {
  const found: ServerResource[] = [];
  for (const rule of mapping.rules) {
    if (!rule.value.candidates) continue;
    const by = rule.path.schema === null && rule.path.attribute === 'userName' ? 'userName' : rule.path.schema === null && rule.path.attribute === 'emails' ? 'emails.value' : null;
    if (!by) continue;
    for (const candidate of rule.value.candidates(user.attributes)) found.push(...(await find(by, candidate)));
  }
  return found;
}

/** The lookups the matching rules ask for, with the person's values (those a filter can find). */
function matchLookups(on: readonly string[], mapping: UserMapping, desired: DesiredUser): { by: 'userName' | 'email'; value: string }[] {
  const out: { by: 'userName' | 'email'; value: string }[] = [];
  for (const key of on) {
    const value = key === 'userName' ? desired.userName : key === WORK_EMAIL ? desiredWorkEmail(mapping, desired) : null;
    if (typeof value === 'string' && value !== '') out.push({ by: key === 'userName' ? 'userName' : 'email', value });
  }
  return out;
}

/** The person's manager when linked in this target (their account read by id), for the manager reference. */
async function linkedManager(runtime: TargetRuntime, links: LinkStore, target: string, user: CanonicalUser | undefined): Promise<Map<string, Provisioned>> {
  const key = user?.managerKey;
  const link = key ? await links.get(target, 'user', key) : undefined;
  const account = key && link ? await accountById(runtime, link.id) : undefined;
  if (!key || !account) return new Map();
  return new Map([[key, { account, label: typeof account['userName'] === 'string' ? account['userName'] : key }]]);
}

/**
 * Only what concerns these people: their user operations, and their own place in groups they
 * belong to (`ids`: their accounts' SCIM ids, whose removal from a group concerns them).
 */
function narrowOperations(ops: readonly Operation[], keys: ReadonlySet<string>, ids: ReadonlySet<string>, theirGroups: ReadonlySet<string>): Operation[] {
  const out: Operation[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'createUser':
      case 'updateUser':
      case 'linkUser':
      case 'deprovisionUser':
      case 'setManager':
        if (keys.has(op.externalId)) out.push(op);
        break;
      case 'createGroup':
      case 'updateGroup':
      case 'linkGroup':
        if (theirGroups.has(op.externalId)) out.push(op);
        break;
      case 'patchGroupMembers': {
        const add = op.add.filter((k) => keys.has(k));
        const remove = op.remove.filter((id) => ids.has(id));
        if (add.length + remove.length > 0) out.push({ ...op, add, remove });
        break;
      }
      // A whole-group PUT or a group delete concerns everyone in it: never on one person's behalf.
      default:
        break;
    }
  }
  return out;
}

/** One person (the CLI's person commands): planPeople for them alone, refusing a key nobody knows. */
export async function planPerson(loaded: LoadedConfig, state: PeopleState, key: string, options: PersonPlanOptions = {}): Promise<PersonPlan> {
  const { links } = state;
  const { people, plan, runtimes } = await planPeople(loaded, state, [key], options);
  const person = people[0]!;
  const linkedAnywhere = (await Promise.all([...runtimes.keys()].map((t) => links.get(t, 'user', key)))).some(Boolean);
  if (!person.user && !person.sourceHeld && !linkedAnywhere && !person.targets.some((p) => p.matchedBy === 'externalId')) {
    throw new ConfigError(quoting`no person with key "${asked(key)}" in the source (${plan.source.description}) nor in any target's links: check the key (the source's key attribute, not a userName)`);
  }
  return { ...person, plan, runtimes };
}

/** People read one by one when the source can look one up: beyond this many, one whole read is cheaper. */
const LOOKUPS_AT_MOST = 20;

/** The source's records of these people: one lookup each when the source can look one up, else one read narrowed to them. */
async function readPeople(source: ReturnType<typeof createSource>, keys: readonly string[]): Promise<DirectorySnapshot> {
  if (keys.length === 1) return source.readOne(keys[0]!);
  if (source.narrowLookups && keys.length <= LOOKUPS_AT_MOST) {
    const reads: DirectorySnapshot[] = [];
    const queue = [...keys];
    // A few at once: each is a connection (LDAP) or a few requests (Google).
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) reads.push(await source.readOne(key));
    }));
    return mergeSnapshots(reads);
  }
  return narrowSnapshot(await source.read(), keys);
}

/** Invalid records a person's read names in its step before counting the rest. */
const SOURCE_ISSUES_SHOWN = 3;

export async function planPeople(loaded: LoadedConfig, state: PeopleState, keys: readonly string[], options: PersonPlanOptions = {}): Promise<PeoplePlan> {
  const { links } = state;
  // Deprovisions an operator rejected stay off here as in a full cycle (an event or a feed naming
  // the person must not carry one out); an emergency deprovision is the operator deciding anew.
  const rejected = options.holdOff ? {} : await state.rejections.all();
  const step = options.step ?? (() => undefined);
  // One person's steps read as before ("match: no account"); a batch's name whom each is about.
  const who = (key: string, sep = ' ') => (keys.length > 1 ? `${key}${sep}` : '');
  const targets = selectTargets(loaded, options.only);
  const id = `plan-${randomUUID()}`;
  // Slow on purpose (target-fingerprint.ts): taken while the source and the targets are read.
  const digests = prepareCredentialDigests(targets.map(([, config]) => config), id);
  digests.catch(() => undefined);
  const readAt = new Date();
  const source = createSource(loaded.config.source);
  const snapshot = await readPeople(source, keys);
  const users = new Map(snapshot.users.map((u) => [u.key, u]));
  const sourceHeld = new Set(snapshot.heldKeys);
  for (const key of keys) {
    const user = users.get(key);
    step(
      user
        ? quoting`read source: ${asked(key)} found (${user.ref.location}${user.ref.line ? `:${user.ref.line}` : ''}), ${user.active ? 'active' : 'inactive'}`
        : sourceHeld.has(key)
          ? quoting`read source: ${asked(key)}: the source rejected this record (held)`
          : quoting`read source: ${asked(key)} is not in the source`,
    );
  }
  if (snapshot.issues.length > 0) {
    // The read is dirty for everyone (deprovisioning held): which records made it so.
    const shown = snapshot.issues.slice(0, SOURCE_ISSUES_SHOWN).map((i) => i.message);
    const more = snapshot.issues.length - shown.length;
    step(`read source: ${snapshot.issues.length} invalid record${snapshot.issues.length === 1 ? '' : 's'}: ${shown.join('; ')}${more > 0 ? `; and ${more} more (scim-sync plan lists them)` : ''}`);
  }
  const stored = holdsInEffect(await state.holds.all(), snapshot);
  const heldOff = new Map<string, EmergencyHold>();
  for (const key of keys) {
    const hold = options.holdOff ? { ...options.holdOff, digest: personDigest(users.get(key)) } : stored.get(key);
    if (!hold) continue;
    heldOff.set(key, hold);
    // A new hold's reason is the asker's own words (a quote of the request); a stored one's is the state's.
    step(quoting`hold: ${who(key)}held off by emergency deprovision ("${options.holdOff ? asked(hold.reason) : hold.reason}", by ${hold.by}, ${hold.time})`);
  }
  // An emergency deprovision is not held back by another person's invalid row.
  const unverified = snapshot.population !== undefined && keys.some((k) => !users.has(k) && !sourceHeld.has(k)) ? options.holdMissingFromWholeRead : undefined;
  const holdDeprovisions = options.holdOff ? undefined : (dirtyReadHold(snapshot, loaded.config.safety.holdDeprovisionsOnInvalidRecords) ?? unverified);
  // Nobody read (they left): what the source offers chooses the default mappings, as for an empty
  // full read (make-plan.ts); from no attributes at all, no rule would yield a userName.
  const attributes = snapshot.users.length > 0 ? sourceAttributes(snapshot) : new Set(await source.offeredAttributes());
  const expressions = expressionOptions(loaded.config);
  // Scope verdicts quote no value of an attribute the log redacts.
  const scopeOptions = { ...expressions, masked: sourceAttributesFeeding(loaded.config, loaded.config.audit.redactAttributes) };
  const runtimes = new Map<string, TargetRuntime>();
  const people: PersonView[] = keys.map((key) => ({
    key,
    ...(users.get(key) ? { user: users.get(key)! } : {}),
    sourceHeld: sourceHeld.has(key),
    ...(heldOff.get(key) ? { hold: heldOff.get(key)! } : {}),
    targets: [],
  }));
  const targetPlans: TargetPlan[] = [];
  /** Each group's members with the nesting flattened, made once for every target that flattens. */
  let flattened: ReadonlyMap<string, ReadonlySet<string>> | undefined;
  for (const [name, config] of targets) {
    const runtime = options.runtimes?.get(name) ?? createTargetRuntime(name, config);
    options.runtimes?.set(name, runtime);
    runtimes.set(name, runtime);
    const found = people.map((p) => {
      const person: PersonInTarget = { target: name, matchedBy: 'none' };
      p.targets.push(person);
      return person;
    });
    try {
      const managerWanted = config.manager && snapshot.users.some((u) => u.managerKey !== undefined);
      const { capabilities, fitted } = await discoverTarget(runtime.client, () => userMapping(name, config, attributes, scopeOptions), managerWanted, options.discovery);
      const settings = targetSettings(config, capabilities);
      const canFilter = capabilities.filter.supported && supportsOperator(targetQuirks(config), 'eq');
      const find = finderFor(runtime, canFilter, config.pageSize);
      const keyed = keyedReader(find, canFilter, options.holdOff !== undefined);
      const accounts: ServerResource[] = [];
      const userLinks = new Map<string, Link>();
      const known = new Map<string, Provisioned>();
      const rules = matchRules(settings);
      // Every account a lookup returned (all the matches of a value, and the holders of a
      // SelectUniqueValue candidate): the planner sees them as it sees a listing.
      const seen: ServerResource[] = [];
      // Each person's lookups in turn, several people at once (as many as the target takes in parallel).
      const lookUp = async (p: PersonView, person: PersonInTarget): Promise<void> => {
        // A rule that fails for this person: no lookups by its values; the plan holds them and says why.
        const mapped = p.user ? mapUserOrFailure(fitted.mapping, p.user) : undefined;
        const desired = mapped instanceof RuleFailed ? undefined : mapped;
        if (p.user) {
          person.scope = explainScope(config.scope, p.user, scopeOptions);
          step(`${name}: scope: ${who(p.key)}${scopeText(person.scope)}`);
        }
        const link = await links.get(name, 'user', p.key);
        if (link) userLinks.set(p.key, link);
        const lookups = desired ? matchLookups(rules.on, fitted.mapping, desired) : [];
        const match = await findAccount(runtime, p.key, link, lookups, keyed, find);
        seen.push(...match.seen);
        if (p.user && (match.matchedBy === 'none' || match.matchedBy === 'userName' || match.matchedBy === 'email')) {
          seen.push(...(await candidateHolders(find, fitted.mapping, p.user)));
        }
        person.matchedBy = match.matchedBy;
        const matchedOn = match.matchedBy === 'userName' ? 'userName' : match.matchedBy === 'email' ? WORK_EMAIL : null;
        person.adopt = matchedOn && rules.explicit ? (rules.adopt.has(matchedOn) ? (match.matchedBy as 'userName' | 'email') : 'none') : settings.adopt;
        if (match.account) person.account = match.account;
        if (desired && !p.sourceHeld) person.mapped = buildUserResource(fitted.mapping, desired, true);
        step(`${name}: match: ${who(p.key, ': ')}${match.account ? `account ${match.account.id} by ${match.matchedBy}` : 'no account'}`);
        for (const [k, v] of await linkedManager(runtime, links, name, p.user)) known.set(k, v);
      };
      const queue = people.map((p, i) => () => lookUp(p, found[i]!));
      await Promise.all(Array.from({ length: Math.min(runtime.concurrency, queue.length) }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await next();
      }));
      // In the order asked, whatever order the lookups ended in.
      for (const person of found) if (person.account) accounts.push(person.account);
      const groupLinks = await links.snapshot(name, 'group');
      const manageGroups = config.groups.enabled && (snapshot.groups.length > 0 || groupLinks.size > 0);
      let unremembered: string | undefined;
      const reading: PeopleReading = {
        people: true,
        memory: state.members,
        everyMs: config.groups.verifyMembersEvery,
        unreadable: (error) => {
          unremembered = `group members: the member memory could not be read (${describeError(error)}): every managed group was asked about ${keys.length === 1 ? keys[0] : 'each of these people'} instead`;
          step(`${name}: ${unremembered}`);
        },
      };
      const listed = manageGroups ? await listGroups(runtime, config.pageSize, snapshot, groupLinks, undefined, linkedAccountIds(userLinks, accounts), reading) : undefined;
      const checks = listed?.memberChecks;
      if (checks) step(`${name}: group members: ${checks.asked} group-and-person pair${checks.asked === 1 ? '' : 's'} asked, ${checks.remembered} from memory`);
      const planned = planTarget(snapshot, {
        name,
        mapping: fitted.mapping,
        inScope: compileScope(config.scope, scopeOptions),
        actualUsers: [...new Map([...seen, ...accounts].map((a) => [a.id, a])).values()],
        userLinks,
        settings,
        ...(listed ? { groups: { actual: listed.groups, links: groupLinks, settings: groupSettings(config) } } : {}),
        manager: fitted.manager,
        ...(holdDeprovisions ? { holdDeprovisions } : {}),
        ...(heldOff.size > 0 ? { heldOff } : {}),
        rejections: rejectionsOf(rejected, name),
        ...(options.parked ? { parked: await parkedFor(options.parked, name) } : {}),
        partial: { known },
      });
      const keySet = new Set(keys);
      // Their accounts and every other carrying their key: managed, as a cycle counts them, and
      // their removal from a group concerns these people.
      const ids = new Set([...accounts, ...seen.filter((a) => typeof a['externalId'] === 'string' && keySet.has(a['externalId']))].map((a) => a.id));
      // With nested: flatten, a group they are in through a group inside it is theirs too: created if missing, as their direct ones.
      const members = config.groups.nested === 'flatten' ? (flattened ??= resolveMembership(snapshot.groups, 'flatten').members) : undefined;
      const theirGroups = new Set(snapshot.groups.filter((g) => [...(members?.get(g.key) ?? g.memberKeys)].some((k) => keySet.has(k))).map((g) => g.key));
      const narrow = (ops: readonly Operation[]) => narrowOperations(ops, keySet, ids, theirGroups);
      const phases = planned.phases.map((p) => ({ ...p, operations: narrow(p.operations) }));
      // Linked people leaving a target that cannot be asked by externalId: only the linked account was read.
      const leaving = keyed ? [] : operationsOf({ phases }).filter((op) => op.kind === 'deprovisionUser' && userLinks.has(op.externalId));
      const unlooked = [...new Set(leaving.map((op) => op.externalId))].map(
        (k) => `${k}: this target takes no filter, so other accounts carrying the key were not looked for: only the linked account is deprovisioned here; the next full cycle deprovisions any other (an emergency deprovision reads the whole listing)`,
      );
      for (const w of unlooked) step(`${name}: ${w}`);
      targetPlans.push({
        ...planned,
        managedUsers: ids.size,
        phases,
        ...(planned.held ? { held: { ...planned.held, operations: narrow(planned.held.operations) } } : {}),
        warnings: [
          ...planned.warnings.filter((w) => keys.some((k) => w.includes(k))),
          ...unlooked,
          ...(unremembered ? [unremembered] : []),
        ],
      });
    } catch (error) {
      const why = describeError(error);
      for (const person of found) person.error = why;
      step(`${name}: could not be read: ${why}`);
      targetPlans.push({ target: name, managedUsers: 0, actualUsers: 0, phases: [], warnings: [], error: why });
    }
  }
  await digests;
  const plan = buildPlan(snapshot, targetPlans, {
    id,
    configFile: loaded.file,
    binding: planBinding(loaded, id, [...runtimes.keys()], snapshot, readAt),
    maxAgeHours: loaded.config.safety.planMaxAgeHours,
    now: new Date(),
  });
  return { people, plan, runtimes, ...(snapshot.population !== undefined ? { population: snapshot.population } : {}) };
}
