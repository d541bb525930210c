/**
 * The access report, the input of an access review: per target, the accounts the source does not
 * explain, the accounts scim-sync deactivated and when, and who holds which group, role or
 * entitlement. Pure, over what the engine read: the source snapshot, each target's listing and
 * links, and the audit log's records.
 *
 * - unmanaged: not linked, and its externalId is not a source key: nobody told us about it.
 * - orphaned: managed (linked, or carrying a source key or a linked person's key as externalId) and
 *   still active, but its person is gone from the source, inactive there, or out of this target's
 *   scope: what the next run deprovisions (user-diff.ts), a second account carrying the key too.
 * - deactivated: the last successful deprovision the audit log records for each person.
 */
import type { AuditRecord } from '../audit/audit-sink.js';
import type { ScopePredicate } from '../mapping/scope.js';
import type { CanonicalUser, DirectorySnapshot } from '../model/canonical.js';
import type { JsonValue, ServerResource } from '../model/scim.js';
import type { Link } from '../state/link-store.js';

export interface TargetListing {
  target: string;
  /** Set when the target could not be read: its report is empty but for this. */
  error?: string;
  inScope: ScopePredicate;
  accounts: readonly ServerResource[];
  /** null: not listed (groups not offered, or the listing failed: `groupsError`). */
  groups: readonly ServerResource[] | null;
  groupsError?: string;
  links: ReadonlyMap<string, Link>;
}

export interface AccountRow {
  userName: string;
  scimId: string;
  externalId: string | null;
  active: boolean;
}

export interface OrphanRow extends AccountRow {
  sourceKey: string;
  reason: 'removed' | 'inactive' | 'out-of-scope';
}

export interface DeactivatedRow {
  sourceKey: string;
  label: string;
  scimId: string | null;
  time: string;
  planId: string;
  /** The account as the target lists it now: false if still inactive, null if it is gone. */
  activeNow: boolean | null;
}

export interface AccessRow {
  userName: string;
  scimId: string;
  active: boolean;
  kind: 'group' | 'role' | 'entitlement';
  value: string;
}

export interface TargetAccessReport {
  target: string;
  error?: string;
  notes: string[];
  unmanaged: AccountRow[];
  orphaned: OrphanRow[];
  deactivated: DeactivatedRow[];
  access: AccessRow[];
}

export interface AccessReport {
  generatedAt: string;
  source: string;
  targets: TargetAccessReport[];
}

const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : null);

function isActive(account: ServerResource): boolean {
  const v = account['active'];
  return typeof v === 'string' ? v.toLowerCase() !== 'false' : v !== false;
}

function row(account: ServerResource): AccountRow {
  return { userName: str(account['userName']) ?? '', scimId: account.id, externalId: str(account['externalId']), active: isActive(account) };
}

/** The values of a multi-valued attribute (roles, entitlements): `value`, else `display`. */
function values(attribute: JsonValue | undefined): string[] {
  if (!Array.isArray(attribute)) return [];
  return attribute.flatMap((item) => {
    if (typeof item === 'string') return [item];
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      const v = str(item['value']) ?? str(item['display']);
      return v === null ? [] : [v];
    }
    return [];
  });
}

function orphanReason(user: CanonicalUser | undefined, held: boolean, inScope: ScopePredicate): OrphanRow['reason'] | null {
  if (held) return null;
  if (!user) return 'removed';
  if (!user.active) return 'inactive';
  // A person whose scope is unknown is held by the planner: no orphan.
  return inScope(user) === 'out' ? 'out-of-scope' : null;
}

const DEPROVISIONED: ReadonlySet<AuditRecord['outcome']> = new Set(['ok', 'partial']);

function targetReport(listing: TargetListing, users: ReadonlyMap<string, CanonicalUser>, held: ReadonlySet<string>, audit: readonly AuditRecord[]): TargetAccessReport {
  const report: TargetAccessReport = { target: listing.target, notes: [], unmanaged: [], orphaned: [], deactivated: [], access: [] };
  if (listing.error) return { ...report, error: listing.error };
  const keyById = new Map([...listing.links].map(([key, link]) => [link.id, key]));
  const byId = new Map(listing.accounts.map((a) => [a.id, a]));
  for (const account of listing.accounts) {
    const externalId = str(account['externalId']);
    const key = keyById.get(account.id) ?? (externalId !== null && (users.has(externalId) || held.has(externalId) || listing.links.has(externalId)) ? externalId : undefined);
    if (key === undefined) {
      report.unmanaged.push(row(account));
      continue;
    }
    const reason = isActive(account) ? orphanReason(users.get(key), held.has(key), listing.inScope) : null;
    if (reason) report.orphaned.push({ ...row(account), sourceKey: key, reason });
  }
  const last = new Map<string, AuditRecord>();
  for (const r of audit) {
    if (r.target !== listing.target || r.action !== 'deprovisionUser' || !DEPROVISIONED.has(r.outcome) || !r.externalId) continue;
    const seen = last.get(r.externalId);
    if (!seen || seen.time <= r.time) last.set(r.externalId, r);
  }
  for (const [key, r] of [...last].sort((a, b) => a[1].time.localeCompare(b[1].time))) {
    const account = r.scimId ? byId.get(r.scimId) : undefined;
    report.deactivated.push({ sourceKey: key, label: r.label ?? key, scimId: r.scimId ?? null, time: r.time, planId: r.planId, activeNow: account ? isActive(account) : null });
  }
  const holder = (account: ServerResource, kind: AccessRow['kind'], value: string): AccessRow => ({ userName: str(account['userName']) ?? '', scimId: account.id, active: isActive(account), kind, value });
  for (const group of listing.groups ?? []) {
    const name = str(group['displayName']) ?? group.id;
    const members = Array.isArray(group['members']) ? group['members'] : [];
    for (const m of members) {
      const id = m && typeof m === 'object' && !Array.isArray(m) ? str(m['value']) : null;
      const account = id === null ? undefined : byId.get(id);
      // A member that is not a listed user (a nested group, or gone): said by its id.
      if (account) report.access.push(holder(account, 'group', name));
      else if (id !== null) report.access.push({ userName: `(not a listed user: ${id})`, scimId: id, active: false, kind: 'group', value: name });
    }
  }
  for (const account of listing.accounts) {
    for (const v of values(account['roles'])) report.access.push(holder(account, 'role', v));
    for (const v of values(account['entitlements'])) report.access.push(holder(account, 'entitlement', v));
  }
  report.access.sort((a, b) => a.userName.localeCompare(b.userName) || a.kind.localeCompare(b.kind) || a.value.localeCompare(b.value));
  if (listing.groupsError) report.notes.push(`groups not listed: ${listing.groupsError}`);
  return report;
}

export function accessReport(snapshot: DirectorySnapshot, listings: readonly TargetListing[], audit: readonly AuditRecord[], now: Date): AccessReport {
  const users = new Map(snapshot.users.map((u) => [u.key, u]));
  const held = new Set(snapshot.heldKeys);
  return { generatedAt: now.toISOString(), source: snapshot.source, targets: listings.map((l) => targetReport(l, users, held, audit)) };
}
