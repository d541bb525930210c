/**
 * Read the source and every target, then plan. This is the I/O around the pure planner: source
 * read, discovery, listing, link snapshot. A target that cannot be read gets an error in the plan
 * and no operations; the others are planned as usual.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { LoadedConfig } from '../config/load.js';
import type { TargetConfig } from '../config/schema/index.js';
import { selectTargets } from '../config/select-targets.js';
import { ConfigError, describeError } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import { compileScope, type ScopePredicate } from '../mapping/scope.js';
import { compileUserMapping, withoutExtensions, type MappingOptions, type UserMapping } from '../mapping/user-mapping.js';
import { expressionOptions } from '../mapping/expression-options.js';
import { fitToSchemas } from '../mapping/schema-fit.js';
import type { ScimTarget } from '../targets/scim-target.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import type { Plan, TargetPlan } from '../model/plan.js';
import { buildPlan, membershipsFor, planTarget } from '../planning/build-plan.js';
import { AccountSettler, type SettledPeople } from '../planning/settled-accounts.js';
import { createSource } from '../sources/create-source.js';
import type { Link } from '../state/link-store.js';
import type { ScimCapabilities } from '../targets/http/capabilities.js';
import type { DiscoveryMemo } from './discovery-memo.js';
import { SCHEMA_ENTERPRISE_USER, type ServerResource } from '../model/scim.js';
import { requireOfferedAttributes } from './source-attributes.js';
import { createTargetRuntime, groupSettings, targetQuirks, targetSettings } from '../execution/target-runtime.js';
import { planBinding } from './plan-binding.js';
import { prepareCredentialDigests } from '../config/target-fingerprint.js';
import { rejectionsOf } from './staged-sets.js';
import { holdsInEffect } from '../planning/emergency-holds.js';
import { markFirstSyncs } from './first-sync.js';
import type { RunState } from './run-state.js';
import type { WriteMemory } from '../state/write-memory.js';
import { parkedFor } from './parked-changes.js';
import type { SyncObserver } from '../telemetry/sync-events.js';
import { sourceAttributesFeeding } from '../audit/redacted-sources.js';
import type { ResourceType } from '../targets/scim-target.js';
import type { MemberCheckCounts } from '../model/plan.js';
import type { MemberMemory } from '../state/member-memory.js';
import { readMembers, type MemberReading, type PeopleReading } from './member-reads.js';
import { confirmUnlisted } from './unlisted-accounts.js';
import { askDiscovery, EarlyRead, listTarget, settle, unwrap, type DiscoveryAsked } from './early-listing.js';

export interface PlanningResult {
  plan: Plan;
  snapshot: DirectorySnapshot;
  runtimes: Map<string, TargetRuntime>;
}

/** Every attribute name the source provides, for deciding which default mappings apply. */
export function sourceAttributes(snapshot: DirectorySnapshot): Set<string> {
  const names = new Set<string>();
  // for-in, not Object.keys: no array per person (records of a source share one shape and its key cache).
  for (const user of snapshot.users) for (const name in user.attributes) names.add(name);
  return names;
}

/** The listed groups, the managed ones with their members; and, read through the member memory, what finding them cost. */
export interface ListedGroups {
  groups: ServerResource[];
  memberChecks?: MemberCheckCounts;
  /** What the member memory's read found wrong and worked around (a verification stamped in the future). */
  memberWarnings?: string[];
}

/**
 * Every group, the managed ones with their members (ScimTarget.withMembers), so the membership diff
 * never mistakes "not shown" for "empty": servers that leave members out of the listing get a GET
 * per managed group; a server that returns them nowhere (AWS) is asked, per managed group, about
 * each of `among`: the SCIM ids of the linked users, the only members a plan adds or removes. With
 * `reading`, such a server is asked only what the member memory does not know (member-reads.ts;
 * a PeopleReading when `among` are a few people's accounts).
 * Without `among` (callers that need no membership) such groups come as listed.
 */
export async function listGroups(
  runtime: TargetRuntime,
  pageSize: number | undefined,
  snapshot: DirectorySnapshot,
  links: ReadonlyMap<string, Link>,
  observer?: SyncObserver,
  among?: readonly string[],
  reading?: MemberReading | PeopleReading,
): Promise<ListedGroups> {
  const groups = await listTarget(runtime, 'Groups', pageSize, observer);
  const sourceKeys = new Set(snapshot.groups.map((g) => g.key));
  const linkedIds = new Set([...links.values()].map((l) => l.id));
  const managed = (g: ServerResource) => linkedIds.has(g.id) || (typeof g['externalId'] === 'string' && sourceKeys.has(g['externalId']));
  if (among && reading && runtime.membersNowhere) {
    const { groups: read, counts, warnings } = await readMembers(runtime, groups.filter(managed), among, reading);
    return { groups: groups.map((g) => read.get(g.id) ?? g), memberChecks: counts, ...(warnings.length > 0 ? { memberWarnings: warnings } : {}) };
  }
  const out: ServerResource[] = [];
  for (const g of groups) out.push(managed(g) ? await runtime.client.withMembers(g, among) : g);
  return { groups: out };
}

/** SCIM ids of the linked users whose accounts the listing showed (a vanished account is in no group). */
export function linkedAccountIds(userLinks: ReadonlyMap<string, Link>, accounts: readonly ServerResource[]): string[] {
  const listed = new Set(accounts.map((a) => a.id));
  return [...new Set([...userLinks.values()].map((l) => l.id))].filter((id) => listed.has(id));
}

/**
 * What a target can take: without the extension schemas it does not list for Users (null: it does
 * not say, so everything is sent), and without the manager reference when it has no enterprise
 * extension. The notes say what was left out.
 */
export function fitToExtensions(mapping: UserMapping, extensions: ReadonlySet<string> | null, manager: boolean): { mapping: UserMapping; manager: boolean; notes: string[] } {
  if (!extensions) return { mapping, manager, notes: [] };
  const fitted = withoutExtensions(mapping, (schema) => extensions.has(schema.toLowerCase()));
  const notes = [...fitted.dropped].map(
    ([schema, paths]) => `the server lists no ${schema} extension for Users: ${paths.join(', ')} ${paths.length === 1 ? 'is' : 'are'} not sent`,
  );
  const hasEnterprise = extensions.has(SCHEMA_ENTERPRISE_USER.toLowerCase());
  if (manager && !hasEnterprise) notes.push(`the server lists no ${SCHEMA_ENTERPRISE_USER} extension for Users: the manager reference is not set`);
  return { mapping: fitted.mapping, manager: manager && hasEnterprise, notes };
}

/** The user mapping as a target can take it, with the notes that say what it leaves out. */
export interface FittedMapping {
  mapping: UserMapping;
  manager: boolean;
  notes: string[];
}

/**
 * The mapping fitted to the extensions the target lists (fitToExtensions) and to the attribute
 * definitions it serves at /Schemas (mapping/schema-fit.ts). The notes say what is not sent or
 * sent only on create; they are warnings of the plan and of `check`.
 */
function fitted(mapping: UserMapping, extensions: ReadonlySet<string> | null, served: Awaited<ReturnType<ScimTarget['schemas']>>, manager: boolean): FittedMapping {
  const byExtensions = fitToExtensions(mapping, extensions, manager);
  const schemas = fitToSchemas(byExtensions.mapping, served);
  return { mapping: schemas.mapping, manager: byExtensions.manager, notes: [...byExtensions.notes, ...schemas.notes] };
}

/**
 * A target's capabilities and the mapping fitted to it (see fitted). The three discovery
 * documents are asked for at once, since none depends on another (each was a round trip before the
 * listing could start); their outcomes are taken in the order they were asked one by one before:
 * ServiceProviderConfig's failure first, then the mapping (`mapping`, compiled only then), then
 * /ResourceTypes/User, then /Schemas. With `memo`, documents it keeps for this client are used
 * instead (the service's batches), and a discovery read here is kept there. `asked`: the documents
 * already asked for (early-listing.ts).
 */
export async function discoverTarget(
  client: ScimTarget,
  mapping: () => UserMapping,
  manager: boolean,
  memo?: DiscoveryMemo,
  asked?: DiscoveryAsked,
): Promise<{ capabilities: ScimCapabilities; fitted: FittedMapping }> {
  const kept = memo?.get(client);
  if (kept) return { capabilities: kept.capabilities, fitted: fitted(mapping(), kept.extensions, kept.schemas, manager) };
  const { capabilities, extensions, schemas } = asked ?? askDiscovery(client);
  const discovered = unwrap(await capabilities);
  const compiled = mapping();
  const documents = { capabilities: discovered, extensions: unwrap(await extensions), schemas: unwrap(await schemas) };
  memo?.set(client, documents);
  return { capabilities: discovered, fitted: fitted(compiled, documents.extensions, documents.schemas, manager) };
}

/**
 * The target's user mapping with what the source offers. One that does not compile fails this
 * target's plan with one line naming every problem at its config path.
 */
export function userMapping(name: string, config: TargetConfig, attributes: ReadonlySet<string>, options: MappingOptions): UserMapping {
  try {
    const mapping = compileUserMapping(config.mapping, attributes, { roles: config.roles, entitlements: config.entitlements }, options);
    if (!targetQuirks(config).userNameCaseExact) return mapping;
    // The server tells "Bob" from "bob": a rename by case alone must reach it.
    return { ...mapping, rules: mapping.rules.map((r) => (r.path.schema === null && r.path.attribute.toLowerCase() === 'username' ? { ...r, caseExact: true as const } : r)) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(error.problems.map((p) => `targets.${name}.${p}`).join('; '), [], { cause: error });
  }
}

/**
 * Why deprovisioning is held in this run, if it is: any invalid record makes the read suspect (a
 * broken quote can swallow the rows of people who are still there). Turned off (`enabled` false),
 * the people such records name are still held by key; a record that may hide people it cannot name
 * (SourceIssue.hidesPeople) holds every deprovision all the same.
 */
export function dirtyReadHold(snapshot: DirectorySnapshot, enabled: boolean): string | undefined {
  const n = snapshot.issues.length;
  if (n === 0) return undefined;
  if (!enabled) {
    const hiding = snapshot.issues.filter((i) => i.hidesPeople).length;
    if (hiding === 0) return undefined;
    return `the source read reported ${hiding} invalid record${hiding === 1 ? '' : 's'} that may hide people it cannot name: deprovisioning is held until a clean read, whatever safety.holdDeprovisionsOnInvalidRecords says`;
  }
  return `the source read reported ${n} invalid record${n === 1 ? '' : 's'}: deprovisioning is held until a clean read (safety.holdDeprovisionsOnInvalidRecords)`;
}

/**
 * What planning reads of the state: links, the holds and rejections that keep deprovisions off, and
 * the first syncs not yet completed (which the create check judges as first syncs).
 */
export type PlanningState = Pick<RunState, 'links' | 'holds' | 'rejections' | 'firstSyncs'>;

export interface MakePlanOptions {
  /** Where parked changes are read from; absent: nothing is left out as parked. */
  memory?: WriteMemory;
  /** Plan parked changes again (`--retry-parked`). */
  retryParked?: boolean;
  /** Told the source read and each page of the targets' listings (progress). */
  observer?: SyncObserver;
  /** The plan's id, when the caller named the cycle before planning (its log lines carry it); default a new one. */
  planId?: string;
  /**
   * Where group members are remembered on servers that return them nowhere (AWS); absent: such a
   * server is asked about every group and linked user. `record`: what planning reads is recorded
   * (a cycle, holding the lock); else the memory is only read (`plan`).
   */
  members?: { memory: MemberMemory; record: boolean };
  /** Check every group against every linked user, whatever the member memory holds (`--verify-members`). */
  verifyMembers?: boolean;
}

/** A new plan id. Job ids are built from it in distributed mode: no ':' and never a plain integer. */
export function newPlanId(): string {
  return `plan-${randomUUID()}`;
}

/** What reading one target needs besides its own config: the source's snapshot and what it offers, the links. */
interface ReadContext {
  links: PlanningState['links'];
  snapshot: DirectorySnapshot;
  attributes: ReadonlySet<string>;
  expressions: MappingOptions;
  /** Source attributes whose values a plan warning must not quote (sourceAttributesFeeding). */
  masked: ReadonlySet<string>;
  observer: SyncObserver | undefined;
  /** Keys of the people held off by an emergency hold (planned as out of scope). */
  heldOff: ReadonlySet<string>;
  members: MakePlanOptions['members'];
  verifyMembers: boolean;
}

/** What planning reads of one target: capabilities, the mapping fitted to it, its accounts, links and groups. */
interface TargetRead {
  capabilities: ScimCapabilities;
  fitted: FittedMapping;
  inScope: ScopePredicate;
  /** Every listed account, a stub for each settled person's (settled-accounts.ts). */
  actualUsers: ServerResource[];
  settled: SettledPeople;
  userLinks: ReadonlyMap<string, Link>;
  /** Absent when groups are not managed on this target in this run. */
  groups?: { actual: ServerResource[]; links: ReadonlyMap<string, Link> };
  memberChecks?: MemberCheckCounts;
  /** Warnings of the member memory's read, for the target's plan. */
  memberWarnings?: string[];
}

/**
 * Discovery and the listing were begun with the source read (`early`); then the mapping: one that
 * cannot compile or fit fails the target, its listing left unread. The links are taken before the
 * listing's pages are, so that each page is settled as it arrives (settled-accounts.ts) while the
 * next ones are in flight.
 */
async function readTarget(name: string, config: TargetConfig, runtime: TargetRuntime, early: EarlyRead, context: ReadContext): Promise<TargetRead> {
  try {
    return await readUsersAndGroups(name, config, runtime, early, context);
  } catch (error) {
    // The target fails: its listing, if still going, is not read on for nothing.
    early.stop();
    throw error;
  }
}

async function readUsersAndGroups(name: string, config: TargetConfig, runtime: TargetRuntime, early: EarlyRead, context: ReadContext): Promise<TargetRead> {
  const { links, snapshot, observer } = context;
  const { capabilities, fitted } = await discoverTarget(
    runtime.client,
    () => userMapping(name, config, context.attributes, { ...context.expressions, masked: context.masked }),
    config.manager && snapshot.users.some((u) => u.managerKey !== undefined),
    undefined,
    early.discovery,
  );
  const userLinks = await links.snapshot(name, 'user');
  const groupLinks = await links.snapshot(name, 'group');
  const manageGroups = config.groups.enabled && (snapshot.groups.length > 0 || groupLinks.size > 0);
  const inScope = compileScope(config.scope, { ...context.expressions, masked: context.masked });
  const { memberOf } = membershipsFor(snapshot, { mapping: fitted.mapping, ...(manageGroups ? { groups: { settings: groupSettings(config) } } : {}) });
  const settler = await AccountSettler.built({
    snapshot,
    mapping: fitted.mapping,
    inScope,
    links: userLinks,
    settings: targetSettings(config, capabilities),
    ...(memberOf ? { memberOf } : {}),
    ...(context.heldOff.size > 0 ? { heldOff: context.heldOff } : {}),
    keepAccounts: manageGroups || fitted.manager,
  }, nextTurn);
  await early.into((page) => settler.add(page));
  const read = { capabilities, fitted, inScope, actualUsers: settler.accounts, settled: settler.settled, userLinks };
  if (!manageGroups) return read;
  const among = linkedAccountIds(userLinks, settler.accounts);
  const listed = await listGroups(runtime, config.pageSize, snapshot, groupLinks, observer, among, memberReading(config, context.members, context.verifyMembers));
  return {
    ...read,
    groups: { actual: listed.groups, links: groupLinks },
    ...(listed.memberChecks ? { memberChecks: listed.memberChecks } : {}),
    ...(listed.memberWarnings ? { memberWarnings: listed.memberWarnings } : {}),
  };
}

/** How a target's group members are read through the member memory, when there is one. */
export function memberReading(config: TargetConfig, members: MakePlanOptions['members'], force: boolean): MemberReading | undefined {
  if (!members) return undefined;
  const { verifyMembersEvery: everyMs, verifyMembersPerCycle: perCycle } = config.groups;
  return { memory: members.memory, record: members.record, settings: { everyMs, perCycle, force } };
}

/**
 * Targets with links that the config names nowhere (a disabled target is still named: it was turned
 * off on purpose). Taking a target out of the config leaves its accounts unmanaged: leavers keep
 * their access there, which only the links remember, so every plan says so until they are forgotten.
 */
async function unconfiguredTargets(loaded: LoadedConfig, links: PlanningState['links']): Promise<NonNullable<Plan['unconfiguredTargets']>> {
  const linked = await links.linkedTargets();
  return [...linked].filter(([target]) => !Object.hasOwn(loaded.config.targets, target)).map(([target, counts]) => ({ target, ...counts }));
}

/** The source's snapshot and what planning takes from it and from the state before any target is planned. */
async function readSource(loaded: LoadedConfig, source: ReturnType<typeof createSource>, state: PlanningState, observer: SyncObserver | undefined, readAt: Date) {
  observer?.({ type: 'source', state: 'reading' });
  const snapshot = await source.read(observer ? { records: (records) => observer({ type: 'source', state: 'reading', records }) } : undefined);
  observer?.({ type: 'source', state: 'done', people: snapshot.users.length, groups: snapshot.groups.length });
  await requireOfferedAttributes(loaded, source);
  // An empty read has no attributes to choose default mappings by; what the source offers stands in,
  // so the plan says what matters (the safety check's "0 users") instead of "no rule yields a userName".
  const attributes = snapshot.users.length > 0 ? sourceAttributes(snapshot) : new Set(await source.offeredAttributes());
  return {
    snapshot,
    attributes,
    holdDeprovisions: dirtyReadHold(snapshot, loaded.config.safety.holdDeprovisionsOnInvalidRecords),
    rejected: await state.rejections.all(),
    heldOff: holdsInEffect(await state.holds.all(), snapshot),
    expressions: expressionOptions(loaded.config, readAt),
  };
}

export async function makePlan(loaded: LoadedConfig, state: PlanningState, only?: readonly string[], options: MakePlanOptions = {}): Promise<PlanningResult> {
  const { links } = state;
  const targets = selectTargets(loaded, only);
  const readAt = new Date();
  const source = createSource(loaded.config.source);
  const { observer } = options;
  const runtimes = new Map<string, TargetRuntime>();
  for (const [name, config] of targets) runtimes.set(name, createTargetRuntime(name, config));
  const id = options.planId ?? newPlanId();
  // The plan's credential digests are slow on purpose (target-fingerprint.ts): taken meanwhile.
  const digests = prepareCredentialDigests(targets.map(([, config]) => config), id);
  digests.catch(() => undefined);
  // Every target's discovery begins now, and its listing with the source read: reads only. A source
  // that cannot be read, or a mapping it cannot fill, stops them and the run writes nothing. A local
  // source's read (a CSV) has no waits for a listing to overlap, only its thread: its targets' pages
  // are asked for meanwhile but read once they can be settled (early-listing.ts), as bytes outside
  // the heap until then. A source that waits on a server (LDAP, Google) overlaps its waits with the listing.
  const early = new Map([...targets].map(([name, config]) => [name, new EarlyRead(runtimes.get(name)!, config.pageSize, observer, source.local)]));
  // The links are read meanwhile too (a file store reads its snapshot in the background): a damaged
  // store stops the cycle here, before anything is compared.
  const linksRead = links.loaded();
  linksRead.catch(() => undefined);
  // Whatever ends the planning (a source that cannot be read first of all), no listing goes on or
  // is left waiting for a taker, holding answers' bytes that every listing in the process shares
  // (pages-ahead.ts); one that has ended is not affected.
  try {
    const prepared = await readSource(loaded, source, state, observer, readAt);
    await linksRead;
    const { snapshot, attributes, holdDeprovisions, rejected, heldOff, expressions } = prepared;
    // Every target at once (each its own server and request budget); planned one after another.
    const masked = sourceAttributesFeeding(loaded.config, loaded.config.audit.redactAttributes);
    const context: ReadContext = {
      links,
      snapshot,
      attributes,
      expressions,
      masked,
      observer,
      heldOff: new Set(heldOff.keys()),
      members: options.members,
      verifyMembers: !!options.verifyMembers,
    };
    const reads = new Map([...targets].map(([name, config]) => [name, settle(readTarget(name, config, runtimes.get(name)!, early.get(name)!, context))]));
    const targetPlans: TargetPlan[] = [];
    for (const [name, config] of targets) {
      try {
        const read = await reads.get(name)!;
        if (!read.ok) throw read.error;
        const { capabilities, fitted, inScope, actualUsers, settled, userLinks, groups, memberChecks, memberWarnings } = read.value;
        const planned = planTarget(snapshot, {
          name,
          mapping: fitted.mapping,
          inScope,
          actualUsers,
          settled,
          userLinks,
          settings: targetSettings(config, capabilities),
          ...(groups ? { groups: { ...groups, settings: groupSettings(config) } } : {}),
          manager: fitted.manager,
          notes: [...fitted.notes, ...(memberWarnings ?? [])],
          ...(holdDeprovisions ? { holdDeprovisions } : {}),
          rejections: rejectionsOf(rejected, name),
          ...(heldOff.size > 0 ? { heldOff } : {}),
          ...(options.memory && !options.retryParked ? { parked: await parkedFor(options.memory, name) } : {}),
        });
        await confirmUnlisted(runtimes.get(name)!, planned);
        targetPlans.push(memberChecks ? { ...planned, memberChecks } : planned);
      } catch (error) {
        targetPlans.push({ target: name, managedUsers: 0, actualUsers: 0, phases: [], warnings: [], error: describeError(error) });
      }
      // Planned: its accounts are no longer needed here.
      reads.delete(name);
    }
    await digests;
    const binding = planBinding(loaded, id, [...runtimes.keys()], snapshot, readAt);
    const unconfigured = await unconfiguredTargets(loaded, links);
    const plan = buildPlan(snapshot, await markFirstSyncs(state.firstSyncs, targetPlans), {
      id,
      configFile: loaded.file,
      binding,
      maxAgeHours: loaded.config.safety.planMaxAgeHours,
      now: new Date(),
    });
    if (unconfigured.length > 0) plan.unconfiguredTargets = unconfigured;
    return { plan, snapshot, runtimes };
  } finally {
    for (const read of early.values()) read.stop();
  }
}
