/**
 * One person on demand (`explain`, `provision`, `deprovision`): the same planner as a cycle, fed
 * with that person alone. The source is asked for that person (SourceDirectory.readOne) and each
 * target for that person's account, by link, externalId or userName, instead of listing everyone;
 * the planned operations are then cut down to what concerns that person (a membership change of
 * a group touches only them, never the members this narrow read did not see).
 */
import { randomUUID } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { ConfigError, NotFoundError, describeError } from '../errors.js';
import type { TargetRuntime } from '../execution/executor.js';
import { createTargetRuntime, groupSettings, targetSettings } from '../execution/target-runtime.js';
import { compileScope, explainScope, type ScopeExplanation } from '../mapping/scope.js';
import { buildUserResource, desiredWorkEmail, mapUser } from '../mapping/user-mapping.js';
import type { CanonicalUser } from '../model/canonical.js';
import type { Operation, Plan, TargetPlan } from '../model/plan.js';
import type { JsonObject, ServerResource } from '../model/scim.js';
import { buildPlan, planTarget } from '../planning/build-plan.js';
import { holdsInEffect, type EmergencyHold } from '../planning/emergency-holds.js';
import { personDigest } from '../planning/preconditions.js';
import type { Provisioned } from '../planning/user-diff.js';
import { createSource } from '../sources/create-source.js';
import type { Link, LinkStore } from '../state/link-store.js';
import type { RunState } from './run-state.js';
import { dirtyReadHold, fitToExtensions, listGroups, sourceAttributes, userMapping } from './make-plan.js';
import { planBinding } from './plan-binding.js';

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

export interface PersonPlan {
  key: string;
  /** Absent: not in the source. */
  user?: CanonicalUser;
  /** The source rejected this person's record (an invalid or duplicate row): left alone everywhere. */
  sourceHeld: boolean;
  /** The emergency hold in effect for this person, if any. */
  hold?: EmergencyHold;
  targets: PersonInTarget[];
  plan: Plan;
  runtimes: Map<string, TargetRuntime>;
}

export interface PersonPlanOptions {
  /** Only these targets (the --target names). */
  only?: readonly string[];
  /** Told each step as it runs (provision prints them). */
  step?: (line: string) => void;
  /** Plan the person as held off by this new hold (deprovision, before storing it); its digest is taken from this read. */
  holdOff?: Omit<EmergencyHold, 'digest'>;
}


async function accountById(runtime: TargetRuntime, id: string): Promise<ServerResource | undefined> {
  try {
    return await runtime.client.get('Users', id);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** The first account found: by link, then externalId, then (not yet managed) userName or email. */
async function findAccount(
  runtime: TargetRuntime,
  key: string,
  link: Link | undefined,
  names: { userName?: string; email?: string },
): Promise<{ matchedBy: MatchedBy; account?: ServerResource }> {
  const linked = link ? await accountById(runtime, link.id) : undefined;
  if (linked) return { matchedBy: 'link', account: linked };
  const [byKey] = await runtime.client.findBy('Users', 'externalId', key);
  if (byKey) return { matchedBy: 'externalId', account: byKey };
  const [byName] = names.userName ? await runtime.client.findBy('Users', 'userName', names.userName) : [];
  if (byName) return { matchedBy: 'userName', account: byName };
  const [byMail] = names.email ? await runtime.client.findBy('Users', 'emails.value', names.email) : [];
  if (byMail) return { matchedBy: 'email', account: byMail };
  return { matchedBy: 'none' };
}

/** The person's manager when linked in this target (their account read by id), for the manager reference. */
async function linkedManager(runtime: TargetRuntime, links: LinkStore, target: string, user: CanonicalUser | undefined): Promise<Map<string, Provisioned>> {
  const key = user?.managerKey;
  const link = key ? await links.get(target, 'user', key) : undefined;
  const account = key && link ? await accountById(runtime, link.id) : undefined;
  if (!key || !account) return new Map();
  return new Map([[key, { account, label: typeof account['userName'] === 'string' ? account['userName'] : key }]]);
}

/** Only what concerns this person: their user operations, and their own place in groups they belong to. */
function narrowOperations(ops: readonly Operation[], key: string, scimId: string | undefined, theirGroups: ReadonlySet<string>): Operation[] {
  const out: Operation[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'createUser':
      case 'updateUser':
      case 'linkUser':
      case 'deprovisionUser':
      case 'setManager':
        if (op.externalId === key) out.push(op);
        break;
      case 'createGroup':
      case 'updateGroup':
      case 'linkGroup':
        if (theirGroups.has(op.externalId)) out.push(op);
        break;
      case 'patchGroupMembers': {
        const add = op.add.filter((k) => k === key);
        const remove = scimId ? op.remove.filter((id) => id === scimId) : [];
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

export async function planPerson(loaded: LoadedConfig, state: Pick<RunState, 'links' | 'holds'>, key: string, options: PersonPlanOptions = {}): Promise<PersonPlan> {
  const { links } = state;
  const step = options.step ?? (() => undefined);
  const targets = selectTargets(loaded, options.only);
  const readAt = new Date();
  const snapshot = await createSource(loaded.config.source).readOne(key);
  const user = snapshot.users[0];
  const sourceHeld = snapshot.heldKeys.includes(key);
  step(`read source: ${user ? `${key} found (${user.ref.location}${user.ref.line ? `:${user.ref.line}` : ''}), ${user.active ? 'active' : 'inactive'}` : sourceHeld ? `${key}: the source rejected this record (held)` : `${key} is not in the source`}`);
  const stored = holdsInEffect(await state.holds.all(), snapshot);
  const hold = options.holdOff ? { ...options.holdOff, digest: personDigest(user) } : stored.get(key);
  const heldOff = hold ? new Map([[key, hold]]) : new Map<string, EmergencyHold>();
  if (hold) step(`hold: held off by emergency deprovision ("${hold.reason}", by ${hold.by}, ${hold.time})`);
  // An emergency deprovision is not held back by another person's invalid row.
  const holdDeprovisions = options.holdOff ? undefined : dirtyReadHold(snapshot, loaded.config.safety.holdDeprovisionsOnInvalidRecords);
  const attributes = sourceAttributes(snapshot);
  const runtimes = new Map<string, TargetRuntime>();
  const people: PersonInTarget[] = [];
  const targetPlans: TargetPlan[] = [];
  let linkedAnywhere = false;
  for (const [name, config] of targets) {
    const runtime = createTargetRuntime(name, config);
    runtimes.set(name, runtime);
    const person: PersonInTarget = { target: name, matchedBy: 'none' };
    people.push(person);
    try {
      const capabilities = await runtime.client.discover();
      const fitted = fitToExtensions(userMapping(name, config, attributes), await runtime.client.userSchemaExtensions(), config.manager && user?.managerKey !== undefined);
      const settings = targetSettings(config, capabilities);
      const desired = user ? mapUser(fitted.mapping, user) : undefined;
      if (user) {
        person.scope = explainScope(config.scope, user);
        step(`${name}: scope: ${person.scope.inScope ? 'in scope' : 'out of scope'}`);
      }
      const link = await links.get(name, 'user', key);
      if (link) linkedAnywhere = true;
      const email = desired && settings.adopt === 'email' ? desiredWorkEmail(fitted.mapping, desired) : undefined;
      const found = await findAccount(runtime, key, link, {
        ...(desired?.userName ? { userName: desired.userName } : {}),
        ...(typeof email === 'string' ? { email } : {}),
      });
      person.matchedBy = found.matchedBy;
      person.adopt = settings.adopt;
      if (found.account) person.account = found.account;
      if (desired && !sourceHeld) person.mapped = buildUserResource(fitted.mapping, desired, true);
      step(`${name}: match: ${found.account ? `account ${found.account.id} by ${found.matchedBy}` : 'no account'}`);
      const known = await linkedManager(runtime, links, name, user);
      const groupLinks = await links.snapshot(name, 'group');
      const manageGroups = config.groups.enabled && (snapshot.groups.length > 0 || groupLinks.size > 0);
      const planned = planTarget(snapshot, {
        name,
        mapping: fitted.mapping,
        inScope: compileScope(config.scope),
        actualUsers: found.account ? [found.account] : [],
        userLinks: link ? new Map([[key, link]]) : new Map(),
        settings,
        ...(manageGroups ? { groups: { actual: await listGroups(runtime, config.pageSize, snapshot, groupLinks), links: groupLinks, settings: groupSettings(config) } } : {}),
        manager: fitted.manager,
        ...(holdDeprovisions ? { holdDeprovisions } : {}),
        ...(heldOff.size > 0 ? { heldOff } : {}),
        partial: { known },
      });
      const theirGroups = new Set(snapshot.groups.filter((g) => g.memberKeys.includes(key)).map((g) => g.key));
      const narrow = (ops: readonly Operation[]) => narrowOperations(ops, key, found.account?.id, theirGroups);
      targetPlans.push({
        ...planned,
        managedUsers: found.account ? 1 : 0,
        phases: planned.phases.map((p) => ({ ...p, operations: narrow(p.operations) })),
        ...(planned.held ? { held: { ...planned.held, operations: narrow(planned.held.operations) } } : {}),
        warnings: planned.warnings.filter((w) => w.includes(key)),
      });
    } catch (error) {
      person.error = describeError(error);
      step(`${name}: could not be read: ${person.error}`);
      targetPlans.push({ target: name, managedUsers: 0, actualUsers: 0, phases: [], warnings: [], error: person.error });
    }
  }
  if (!user && !sourceHeld && !linkedAnywhere && !people.some((p) => p.matchedBy === 'externalId')) {
    throw new ConfigError(`no person with key "${key}" in the source (${snapshot.source}) nor in any target's links: check the key (the source's key attribute, not a userName)`);
  }
  const plan = buildPlan(snapshot, targetPlans, {
    id: `plan-${randomUUID()}`,
    configFile: loaded.file,
    binding: planBinding(loaded, [...runtimes.keys()], snapshot, readAt),
    maxAgeHours: loaded.config.safety.planMaxAgeHours,
    now: new Date(),
  });
  return { key, ...(user ? { user } : {}), sourceHeld, ...(hold ? { hold } : {}), targets: people, plan, runtimes };
}
