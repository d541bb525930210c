import { randomUUID } from 'node:crypto';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_PATCH_OP } from '../model/scim.js';
import type { JsonObject, JsonValue, PatchOperation, ScimResource } from '../model/scim.js';
import { isPlainObject } from './attribute-path.js';
import { resourceTypeOf } from './attribute-schema.js';
import type { ResourceKind, ResourceTypeDef } from './attribute-schema.js';
import type { SandboxBehaviour } from './behaviour.js';
import { ScimError, badRequest, notFound } from './errors.js';
import { indexLookups } from './filter-eval.js';
import type { CompiledFilter } from './filter-eval.js';
import { applyPatch } from './patch-apply.js';
import { coerceResource, missingRequired } from './resource-validate.js';

/**
 * Users and groups in memory, with the indexes that keep the hot paths O(1): id, userName
 * (case-insensitive), externalId, Group displayName, and memberships (member id → group ids) for
 * `User.groups` and the delete cascade. Every write validates, bumps the version and notifies
 * `onChange` (persistence). Records keep creation order, which is the stable list order.
 *
 * Methods that return resources return copies: tests may mutate them freely.
 */

export interface StoredRecord {
  readonly kind: ResourceKind;
  readonly id: string;
  /** Creation order. */
  readonly seq: number;
  version: number;
  /** Canonical resource with id and meta; User `groups` is derived on read, never stored. */
  resource: ScimResource;
  /** Group member values, kept beside the array so membership changes cost the change, not the group size. */
  memberIds?: Set<string>;
}

/** How a validated write changes a group's member values. */
interface MemberChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** What a dataFile holds. Passwords that clients send are kept as sent: a sandbox, not a vault. */
export interface StoreSnapshot {
  format: 'scim-sync-sandbox';
  version: 1;
  users: ScimResource[];
  groups: ScimResource[];
}

/** One committed change, as persistence records it: a resource's new state, its removal, or all removed. */
export type StoreChange = { type: 'put'; kind: ResourceKind; resource: ScimResource } | { type: 'delete'; kind: ResourceKind; id: string } | { type: 'clear' };

export class SandboxStore {
  /** Called after every committed change, with each resource it changed (a delete's cascade included). */
  onChange: ((change: StoreChange) => void) | undefined;

  private readonly records: Record<ResourceKind, Map<string, StoredRecord>> = { User: new Map(), Group: new Map() };
  private readonly byUserName = new Map<string, StoredRecord>();
  private readonly byDisplayName = new Map<string, Set<StoredRecord>>();
  private readonly byExternalId: Record<ResourceKind, Map<string, Set<StoredRecord>>> = { User: new Map(), Group: new Map() };
  /** Member id (User or Group) → ids of the groups that list it directly. */
  private readonly memberOf = new Map<string, Set<string>>();
  private seq = 0;

  /**
   * @param behaviour shared, mutable behaviour (lenientBooleans, uniqueGroupDisplayName are read per write)
   * @param baseUrl absolute URL of the SCIM root, for meta.location and $ref
   */
  constructor(
    private readonly behaviour: SandboxBehaviour,
    readonly baseUrl: string,
  ) {}

  // ---- reads for tests and tools ----

  users(): ScimResource[] {
    return [...this.records.User.values()].map((r) => this.copy(r));
  }

  groups(): ScimResource[] {
    return [...this.records.Group.values()].map((r) => this.copy(r));
  }

  getUser(id: string): ScimResource | undefined {
    return this.copyOf(this.records.User.get(id));
  }

  getGroup(id: string): ScimResource | undefined {
    return this.copyOf(this.records.Group.get(id));
  }

  findUserByUserName(userName: string): ScimResource | undefined {
    return this.copyOf(this.byUserName.get(userName.toLowerCase()));
  }

  findUserByExternalId(externalId: string): ScimResource | undefined {
    return this.copyOf(first(this.byExternalId.User.get(externalId)));
  }

  findGroupByDisplayName(displayName: string): ScimResource | undefined {
    return this.copyOf(first(this.byDisplayName.get(displayName.toLowerCase())));
  }

  get userCount(): number {
    return this.records.User.size;
  }

  get groupCount(): number {
    return this.records.Group.size;
  }

  // ---- writes for tests ("an admin did this in the app"); same validation as over HTTP ----

  /** Creates a user as if made by hand in the app. `schemas` may be omitted. Throws ScimError. */
  createUser(resource: JsonObject): ScimResource {
    return this.copy(this.create('User', withDefaultSchemas(resourceTypeOf('User'), resource)));
  }

  createGroup(resource: JsonObject): ScimResource {
    return this.copy(this.create('Group', withDefaultSchemas(resourceTypeOf('Group'), resource)));
  }

  replaceUser(id: string, resource: JsonObject): ScimResource {
    return this.copy(this.replace('User', id, withDefaultSchemas(resourceTypeOf('User'), resource)));
  }

  replaceGroup(id: string, resource: JsonObject): ScimResource {
    return this.copy(this.replace('Group', id, withDefaultSchemas(resourceTypeOf('Group'), resource)));
  }

  /** Sets attributes like a path-less PATCH replace: `{active: false}`, `{'name.givenName': 'Al'}`. */
  updateUser(id: string, changes: JsonObject): ScimResource {
    return this.patchUser(id, [{ op: 'replace', value: changes }]);
  }

  updateGroup(id: string, changes: JsonObject): ScimResource {
    return this.patchGroup(id, [{ op: 'replace', value: changes }]);
  }

  patchUser(id: string, operations: PatchOperation[]): ScimResource {
    return this.copy(this.patch('User', id, patchBody(operations)));
  }

  patchGroup(id: string, operations: PatchOperation[]): ScimResource {
    return this.copy(this.patch('Group', id, patchBody(operations)));
  }

  deleteUser(id: string): boolean {
    return this.delete('User', id);
  }

  deleteGroup(id: string): boolean {
    return this.delete('Group', id);
  }

  clear(): void {
    this.reset();
    this.onChange?.({ type: 'clear' });
  }

  // ---- the engine the HTTP layer uses ----

  record(kind: ResourceKind, id: string): StoredRecord | undefined {
    return this.records[kind].get(id);
  }

  /** `id`: the new resource's id; a fresh UUID unless given (seeded data). */
  create(kind: ResourceKind, input: unknown, id: string = randomUUID()): StoredRecord {
    const rt = resourceTypeOf(kind);
    const data = coerceResource(rt, input, this.behaviour);
    this.keepIgnored(kind, data, undefined);
    this.checkUniqueness(kind, data, undefined);
    if (this.records[kind].has(id)) throw new ScimError(409, `${kind} ${id} exists`, 'uniqueness');
    const members = this.checkReferences(kind, id, undefined, data);
    const now = new Date().toISOString();
    const rec: StoredRecord = { kind, id, seq: ++this.seq, version: 1, resource: this.build(rt, id, data, now, now, 1) };
    this.records[kind].set(id, rec);
    this.index(rec);
    if (members) this.applyMembers(rec, members);
    this.changed(rec);
    return rec;
  }

  replace(kind: ResourceKind, id: string, input: unknown): StoredRecord {
    const rec = this.require(kind, id);
    const data = coerceResource(resourceTypeOf(kind), input, this.behaviour);
    this.keepIgnored(kind, data, rec.resource);
    this.commit(rec, data);
    return rec;
  }

  /**
   * Applies a PatchOp body atomically. `memberLimit` caps member values added plus removed
   * (behaviour.maxPatchOperations; only the HTTP API enforces it).
   */
  patch(kind: ResourceKind, id: string, body: unknown, memberLimit: number | null = null): StoredRecord {
    const rec = this.require(kind, id);
    const rt = resourceTypeOf(kind);
    const { data, memberChanges, memberDelta } = applyPatch(rt, attributesOf(rec.resource), body, this.behaviour, rec.memberIds);
    this.keepIgnored(kind, data, rec.resource);
    if (memberLimit !== null && memberChanges > memberLimit) {
      throw badRequest('invalidValue', `this PATCH changes ${memberChanges} member values; the limit is ${memberLimit} per request`);
    }
    const missing = missingRequired(rt, data);
    if (missing) throw badRequest('mutability', `"${missing}" is required and cannot be removed`);
    if (memberDelta) {
      this.checkUniqueness(kind, data, rec);
      for (const member of memberDelta.added) this.checkNewMember(member, rec.id);
      this.update(rec, data, { added: memberDelta.added.map((m) => m.value as string), removed: memberDelta.removed });
      this.changed(rec);
    } else {
      this.commit(rec, data);
    }
    return rec;
  }

  delete(kind: ResourceKind, id: string): boolean {
    const rec = this.records[kind].get(id);
    if (!rec) return false;
    this.unindex(rec);
    this.records[kind].delete(id);
    for (const value of rec.memberIds ?? []) this.memberOf.get(value)?.delete(id);
    // Cascade: a deleted user or group leaves every group that listed it (a change to that group).
    const parents = this.memberOf.get(id);
    this.memberOf.delete(id);
    if (parents) {
      for (const groupId of parents) {
        const group = this.records.Group.get(groupId);
        if (!group) continue;
        const data = attributesOf(group.resource);
        const members = (data.members as JsonValue[]).filter((m) => !isPlainObject(m) || m.value !== id);
        if (members.length > 0) data.members = members;
        else delete data.members;
        this.update(group, data, { added: [], removed: [id] });
        this.changed(group);
      }
    }
    this.onChange?.({ type: 'delete', kind, id });
    return true;
  }

  /** Records matching `filter` in creation order, from an index when the filter allows it. */
  query(kind: ResourceKind, filter?: CompiledFilter): StoredRecord[] {
    const all = this.records[kind];
    if (!filter) return [...all.values()];
    const lookups = indexLookups(filter.node, resourceTypeOf(kind));
    let candidates: Iterable<StoredRecord> = all.values();
    if (lookups) {
      const found = new Set<StoredRecord>();
      for (const { attribute, value } of lookups) {
        if (attribute === 'id') addIf(found, all.get(value));
        else if (attribute === 'userName') addIf(found, this.byUserName.get(value.toLowerCase()));
        else if (attribute === 'displayName') for (const r of this.byDisplayName.get(value.toLowerCase()) ?? []) found.add(r);
        else for (const r of this.byExternalId[kind].get(value) ?? []) found.add(r);
      }
      candidates = [...found].sort((a, b) => a.seq - b.seq);
    }
    const needsGroups = kind === 'User' && filter.reads.has('groups');
    const out: StoredRecord[] = [];
    for (const rec of candidates) {
      if (filter.test(needsGroups ? this.view(rec, true) : rec.resource)) out.push(rec);
    }
    return out;
  }

  /**
   * The representation of a record: `groups` added for users, the writeOnly password left out, and
   * meta.version only when ETags are on. Shares structure with the store: serialise, don't mutate.
   */
  view(rec: StoredRecord, withVersion: boolean): ScimResource {
    const resource = rec.resource;
    const groupIds = rec.kind === 'User' ? this.memberOf.get(rec.id) : undefined;
    const hasGroups = groupIds !== undefined && groupIds.size > 0;
    if (withVersion && !hasGroups && !('password' in resource)) return resource;
    const { meta, password: _password, ...rest } = resource;
    const out = rest as ScimResource;
    if (hasGroups) {
      out.groups = [...groupIds].map((gid) => {
        const group = this.records.Group.get(gid);
        return { value: gid, $ref: `${this.baseUrl}/Groups/${gid}`, display: (group?.resource.displayName ?? null) as JsonValue, type: 'direct' };
      });
    }
    if (isPlainObject(meta)) {
      if (withVersion) out.meta = meta;
      else {
        const { version: _version, ...metaWithoutVersion } = meta;
        out.meta = metaWithoutVersion;
      }
    }
    return out;
  }

  snapshot(): StoreSnapshot {
    return {
      format: 'scim-sync-sandbox',
      version: 1,
      users: [...this.records.User.values()].map((r) => r.resource),
      groups: [...this.records.Group.values()].map((r) => r.resource),
    };
  }

  /** Replaces the contents with a snapshot (a dataFile). Locations are rebuilt for this baseUrl. */
  load(snapshot: StoreSnapshot): void {
    this.reset();
    for (const kind of ['User', 'Group'] as const) {
      const rt = resourceTypeOf(kind);
      for (const resource of kind === 'User' ? snapshot.users : snapshot.groups) {
        const meta = isPlainObject(resource.meta) ? resource.meta : {};
        const id = String(resource.id);
        const version = Number(/(\d+)/.exec(String(meta.version ?? ''))?.[1] ?? 1);
        const now = new Date().toISOString();
        const created = typeof meta.created === 'string' ? meta.created : now;
        const lastModified = typeof meta.lastModified === 'string' ? meta.lastModified : created;
        const rec: StoredRecord = { kind, id, seq: ++this.seq, version, resource: this.build(rt, id, attributesOf(resource), created, lastModified, version) };
        this.records[kind].set(id, rec);
        this.index(rec);
      }
    }
    // Members are indexed once every record exists, so nested groups resolve in any order.
    for (const rec of this.records.Group.values()) this.applyMembers(rec, this.memberChange(rec, rec.id, rec.resource));
  }

  // ---- internals ----

  private reset(): void {
    for (const kind of ['User', 'Group'] as const) {
      this.records[kind].clear();
      this.byExternalId[kind].clear();
    }
    this.byUserName.clear();
    this.byDisplayName.clear();
    this.memberOf.clear();
  }

  private require(kind: ResourceKind, id: string): StoredRecord {
    const rec = this.records[kind].get(id);
    if (!rec) throw notFound(`${kind} ${id} not found`);
    return rec;
  }

  /** behaviour.ignoredAttributes and readOnlyAttributes: a User write leaves them as they were (absent, for a create). */
  private keepIgnored(kind: ResourceKind, data: JsonObject, before: JsonObject | undefined): void {
    const ignored = [...this.behaviour.ignoredAttributes, ...this.behaviour.readOnlyAttributes];
    if (kind !== 'User' || ignored.length === 0) return;
    const names = new Set(ignored.map((n) => n.toLowerCase()));
    for (const key of Object.keys(data)) if (names.has(key.toLowerCase())) delete data[key];
    for (const [key, value] of Object.entries(before ?? {})) if (names.has(key.toLowerCase())) data[key] = value;
  }

  /** Validates a new state of an existing record against the others, then stores it. */
  private commit(rec: StoredRecord, data: JsonObject): void {
    this.checkUniqueness(rec.kind, data, rec);
    const members = this.checkReferences(rec.kind, rec.id, rec, data);
    this.update(rec, data, members);
    this.changed(rec);
  }

  private changed(rec: StoredRecord): void {
    this.onChange?.({ type: 'put', kind: rec.kind, resource: rec.resource });
  }

  private update(rec: StoredRecord, data: JsonObject, members: MemberChange | undefined): void {
    this.unindex(rec);
    rec.version++;
    const meta = rec.resource.meta as JsonObject;
    rec.resource = this.build(resourceTypeOf(rec.kind), rec.id, data, meta.created as string, new Date().toISOString(), rec.version);
    this.index(rec);
    if (members) this.applyMembers(rec, members);
  }

  private build(rt: ResourceTypeDef, id: string, data: JsonObject, created: string, lastModified: string, version: number): ScimResource {
    const { schemas, ...attributes } = data;
    return {
      schemas: schemas as string[],
      id,
      ...attributes,
      meta: { resourceType: rt.name, created, lastModified, location: `${this.baseUrl}${rt.endpoint}/${id}`, version: `W/"${version}"` },
    };
  }

  private checkUniqueness(kind: ResourceKind, data: JsonObject, self: StoredRecord | undefined): void {
    if (kind === 'User') {
      const userName = data.userName as string;
      const holder = this.byUserName.get(userName.toLowerCase());
      if (holder && holder !== self) {
        throw new ScimError(409, `userName "${userName}" is already used by User ${holder.id} (userName is compared case-insensitively)`, 'uniqueness');
      }
    } else if (this.behaviour.uniqueGroupDisplayName) {
      const displayName = data.displayName as string;
      for (const holder of this.byDisplayName.get(displayName.toLowerCase()) ?? []) {
        if (holder !== self) throw new ScimError(409, `displayName "${displayName}" is already used by Group ${holder.id}`, 'uniqueness');
      }
    }
  }

  /**
   * Group members must name existing Users or Groups (type is filled in, duplicates dropped); an
   * enterprise manager must be an existing User. Only values new to this write are looked up.
   * Returns the member change of a group, for applyMembers once the write is certain.
   */
  private checkReferences(kind: ResourceKind, selfId: string, before: StoredRecord | undefined, data: JsonObject): MemberChange | undefined {
    if (kind === 'Group') return this.memberChange(before, selfId, data);
    const manager = managerOf(data);
    if (manager !== undefined && manager !== (before && managerOf(before.resource)) && !this.records.User.has(manager)) {
      throw badRequest('invalidValue', `${SCHEMA_ENTERPRISE_USER}:manager.value "${manager}" is not the id of an existing User`);
    }
    return undefined;
  }

  /** Validates a group's new member list against its stored one in a single pass. */
  private memberChange(before: StoredRecord | undefined, selfId: string, data: JsonObject): MemberChange {
    const known = before?.memberIds ?? new Set<string>();
    const ids = new Set<string>();
    const added: string[] = [];
    const list = Array.isArray(data.members) ? data.members : [];
    const members: JsonValue[] = [];
    for (const member of list) {
      if (!isPlainObject(member) || typeof member.value !== 'string') throw badRequest('invalidValue', 'every members value needs a "value" (the id of a User or Group)');
      const value = member.value;
      if (ids.has(value)) continue;
      ids.add(value);
      members.push(member);
      if (known.has(value)) continue;
      added.push(value);
      this.checkNewMember(member, selfId);
    }
    if (members.length !== list.length) data.members = members;
    const removed: string[] = [];
    if (known.size > ids.size - added.length) for (const value of known) if (!ids.has(value)) removed.push(value);
    return { added, removed };
  }

  /** A member entering a group must be an existing User or Group, not the group; its type is filled in. */
  private checkNewMember(member: JsonObject, selfId: string): void {
    const value = member.value as string;
    const actual: ResourceKind | undefined = this.records.User.has(value) ? 'User' : this.records.Group.has(value) ? 'Group' : undefined;
    if (!actual) throw badRequest('invalidValue', `members value "${value}" is not the id of an existing User or Group`);
    if (value === selfId) throw badRequest('invalidValue', 'a group cannot be a member of itself');
    if (member.type !== undefined && member.type !== actual) throw badRequest('invalidValue', `members value "${value}" is a ${actual}, not a ${String(member.type)}`);
    // Members entering here are fresh objects from validation, never shared with a stored resource.
    member.type = actual;
  }

  private applyMembers(rec: StoredRecord, change: MemberChange): void {
    const ids = (rec.memberIds ??= new Set());
    for (const value of change.removed) {
      ids.delete(value);
      this.memberOf.get(value)?.delete(rec.id);
    }
    for (const value of change.added) {
      ids.add(value);
      let groups = this.memberOf.get(value);
      if (!groups) this.memberOf.set(value, (groups = new Set()));
      groups.add(rec.id);
    }
  }

  private index(rec: StoredRecord): void {
    const r = rec.resource;
    if (typeof r.externalId === 'string') addTo(this.byExternalId[rec.kind], r.externalId, rec);
    if (rec.kind === 'User') {
      this.byUserName.set((r.userName as string).toLowerCase(), rec);
      return;
    }
    addTo(this.byDisplayName, (r.displayName as string).toLowerCase(), rec);
  }

  private unindex(rec: StoredRecord): void {
    const r = rec.resource;
    if (typeof r.externalId === 'string') removeFrom(this.byExternalId[rec.kind], r.externalId, rec);
    if (rec.kind === 'User') {
      this.byUserName.delete((r.userName as string).toLowerCase());
      return;
    }
    removeFrom(this.byDisplayName, (r.displayName as string).toLowerCase(), rec);
  }

  private copy(rec: StoredRecord): ScimResource {
    return structuredClone(this.view(rec, true));
  }

  private copyOf(rec: StoredRecord | undefined): ScimResource | undefined {
    return rec ? this.copy(rec) : undefined;
  }
}

/** The resource without the server-owned id and meta: what validation and PATCH work on. */
function attributesOf(resource: JsonObject): JsonObject {
  const { id: _id, meta: _meta, ...data } = resource;
  return data;
}

function managerOf(data: JsonObject | undefined): string | undefined {
  const ext = data?.[SCHEMA_ENTERPRISE_USER];
  const manager = isPlainObject(ext) ? ext.manager : undefined;
  return isPlainObject(manager) && typeof manager.value === 'string' ? manager.value : undefined;
}

function withDefaultSchemas(rt: ResourceTypeDef, resource: JsonObject): JsonObject {
  if (Object.keys(resource).some((k) => k.toLowerCase() === 'schemas')) return resource;
  const present = rt.extensions.filter((e) => Object.keys(resource).some((k) => k.toLowerCase() === e.id.toLowerCase()));
  return { schemas: [rt.core.id, ...present.map((e) => e.id)], ...resource };
}

function patchBody(operations: PatchOperation[]): JsonObject {
  return { schemas: [SCHEMA_PATCH_OP], Operations: operations as unknown as JsonValue[] };
}

function first<T>(set: Set<T> | undefined): T | undefined {
  if (!set) return undefined;
  for (const v of set) return v;
  return undefined;
}

function addIf(set: Set<StoredRecord>, rec: StoredRecord | undefined): void {
  if (rec) set.add(rec);
}

function addTo(map: Map<string, Set<StoredRecord>>, key: string, rec: StoredRecord): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(rec);
}

function removeFrom(map: Map<string, Set<StoredRecord>>, key: string, rec: StoredRecord): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(rec);
  if (set.size === 0) map.delete(key);
}
