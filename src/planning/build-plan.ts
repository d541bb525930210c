/**
 * Assemble a Plan from a source snapshot and, per target, what it holds. Pure: all I/O (reading the
 * source, listing the target, loading links) happened before.
 */
import { randomUUID } from 'node:crypto';
import type { ScopePredicate } from '../mapping/scope.js';
import type { UserMapping } from '../mapping/user-mapping.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import { PLAN_FORMAT, PLAN_VERSION, type Plan, type TargetPlan } from '../model/plan.js';
import type { ScimResource } from '../model/scim.js';
import type { Link } from '../state/link-store.js';
import type { TargetSettings } from './target-settings.js';
import { diffUsers } from './user-diff.js';

export interface TargetInput {
  name: string;
  mapping: UserMapping;
  inScope: ScopePredicate;
  actualUsers: readonly ScimResource[];
  userLinks: ReadonlyMap<string, Link>;
  settings: TargetSettings;
}

export function planTarget(snapshot: DirectorySnapshot, input: TargetInput): TargetPlan {
  const users = diffUsers({
    snapshot,
    mapping: input.mapping,
    inScope: input.inScope,
    actual: input.actualUsers,
    links: input.userLinks,
    settings: input.settings,
  });
  return {
    target: input.name,
    managedUsers: users.managedUsers,
    actualUsers: input.actualUsers.length,
    phases: [
      { name: 'users', operations: users.users },
      { name: 'deprovision', operations: users.deprovision },
    ],
    warnings: users.warnings,
  };
}

export function buildPlan(snapshot: DirectorySnapshot, configFile: string, targets: readonly TargetPlan[], now = new Date()): Plan {
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    // Job ids are built from it in distributed mode: no ':' and never a plain integer.
    id: `plan-${randomUUID()}`,
    createdAt: now.toISOString(),
    config: configFile,
    source: {
      description: snapshot.source,
      users: snapshot.users.length,
      activeUsers: snapshot.users.filter((u) => u.active).length,
      recordsRead: snapshot.recordsRead,
      invalidRecords: snapshot.issues.length,
      issues: snapshot.issues.map((i) => i.message),
      ...(snapshot.warnings?.length ? { warnings: snapshot.warnings.map((w) => w.message) } : {}),
    },
    targets: [...targets],
  };
}
