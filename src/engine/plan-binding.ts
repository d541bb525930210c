/**
 * A saved plan is bound to the targets and the source it was made from, and expires. `apply`
 * refuses a plan made for another server (a config whose target of the same name now points
 * elsewhere), another credential identity or value, another source, or one older than
 * safety.planMaxAgeHours: it would write yesterday's decisions into the wrong place.
 */
import { createHash } from 'node:crypto';
import type { LoadedConfig } from '../config/load.js';
import type { SourceSetup } from '../config/schema/index.js';
import { credentialName, describeFingerprint, targetDifference, targetFingerprint } from '../config/target-fingerprint.js';
import { PlanError } from '../errors.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import { isAheadOfClock } from '../model/clock-drift.js';
import type { Plan, SourceFingerprint } from '../model/plan.js';
import { createSource } from '../sources/create-source.js';

function sourceLocation(config: SourceSetup): string {
  return createSource(config).description;
}

/**
 * Every person and group read, as text in batches: one update per record would cross into the hash
 * (and encode a string) 100,000 times. The digest of the concatenation is the digest of the parts.
 */
function* contentBatches(snapshot: DirectorySnapshot): Generator<string> {
  let batch: string[] = [];
  for (const u of snapshot.users) {
    batch.push(JSON.stringify([u.key, u.active, u.attributes, u.managerKey ?? null, u.groups ?? null]));
    if (batch.length === 512) {
      yield batch.join('');
      batch = [];
    }
  }
  for (const g of snapshot.groups) batch.push(JSON.stringify([g.key, g.displayName, g.memberKeys, g.groupKeys ?? null]));
  if (batch.length > 0) yield batch.join('');
}

/** Digest of every person and group read: tells two reads of the same source apart. */
function contentHash(snapshot: DirectorySnapshot): string {
  const hash = createHash('sha256');
  for (const batch of contentBatches(snapshot)) hash.update(batch);
  return hash.digest('base64url');
}

/**
 * The source's fingerprint. Its content hash is taken when first read (the plan printed as JSON or
 * saved): most plans are only shown, and the digest of 100,000 records is a few hundred ms of CPU
 * that a client busy parsing its listing has no idle time to hide.
 */
export function sourceFingerprint(config: SourceSetup, snapshot: DirectorySnapshot, readAt: Date, digest?: string): SourceFingerprint {
  const fingerprint = { type: config.type, location: sourceLocation(config), readAt: readAt.toISOString() } as SourceFingerprint;
  if (digest !== undefined) return { ...fingerprint, contentHash: digest };
  // Held only until the digest is taken: a plan kept longer (service mode) then keeps a string, not the records.
  let records: DirectorySnapshot | undefined = snapshot;
  let taken: string | undefined;
  return Object.defineProperty(fingerprint, 'contentHash', {
    enumerable: true,
    configurable: true,
    get: () => {
      if (taken === undefined) {
        taken = contentHash(records!);
        records = undefined;
      }
      return taken;
    },
  });
}

/**
 * Takes the plan's source digest now if it is still to be taken, so the plan no longer holds the
 * source's records: for a plan kept after its cycle (the service's last cycle, read by the console),
 * which would otherwise keep one whole read alive beside the next.
 */
export function detachSource(plan: Plan): void {
  void plan.binding.source.contentHash;
}

/** The targets' fingerprints as `loaded` gives them, keyed by the plan's id (config/target-fingerprint.ts). */
export function targetBindings(loaded: LoadedConfig, targets: readonly string[], planId: string): Plan['binding']['targets'] {
  return Object.fromEntries(targets.map((name) => [name, targetFingerprint(loaded.config.targets[name]!, planId)]));
}

/** `digest`: the snapshot's content hash when known already; else taken when first read. */
export function planBinding(loaded: LoadedConfig, planId: string, targets: readonly string[], snapshot: DirectorySnapshot, readAt: Date, digest?: string): Plan['binding'] {
  return { source: sourceFingerprint(loaded.config.source, snapshot, readAt, digest), targets: targetBindings(loaded, targets, planId) };
}

/**
 * The plan's age, by its own expiry and by today's safety.planMaxAgeHours (a limit lowered since
 * the plan was made applies to it); times that do not parse, or a plan made in the future, are
 * refused rather than read as never expiring.
 */
function checkAge(plan: Plan, loaded: LoadedConfig, file: string, now: Date): void {
  const maxHours = loaded.config.safety.planMaxAgeHours;
  const created = Date.parse(plan.createdAt);
  const expires = Date.parse(plan.expiresAt);
  if (Number.isNaN(created) || Number.isNaN(expires)) {
    throw new PlanError(`${file}: createdAt ${JSON.stringify(plan.createdAt)} or expiresAt ${JSON.stringify(plan.expiresAt)} is not a time: make a new plan`);
  }
  // A plan made in the future by more than clocks differ was not made by this tool's clock.
  if (isAheadOfClock(created, now.getTime())) throw new PlanError(`${file} says it was made at ${plan.createdAt}, in the future: make a new plan`);
  const expired = Math.min(expires, created + maxHours * 3_600_000);
  if (expired < now.getTime()) {
    throw new PlanError(
      `${file} expired at ${new Date(expired).toISOString()} (made ${plan.createdAt}; plans are kept ${maxHours} h, safety.planMaxAgeHours): make a new plan`,
    );
  }
}

/** Throws (exit 2) when the plan is expired or the config no longer points where the plan was made for. */
export function checkBinding(plan: Plan, loaded: LoadedConfig, file: string, now = new Date()): void {
  checkAge(plan, loaded, file, now);
  const problems: string[] = [];
  const source = plan.binding.source;
  const location = sourceLocation(loaded.config.source);
  if (source.type !== loaded.config.source.type || source.location !== location) {
    problems.push(`source: the plan was read from ${source.location}; ${loaded.file} reads ${location}`);
  }
  for (const t of plan.targets) {
    const bound = plan.binding.targets[t.target];
    const config = loaded.config.targets[t.target];
    if (!bound || !config) continue;
    const now = targetFingerprint(config, plan.id);
    // A plan saved before credentials were recorded is held to the rest, as it was when saved (it
    // expires within safety.planMaxAgeHours); what its workers compare is bound when it is applied.
    const differs = targetDifference(bound, bound.credential === undefined ? { ...now, credential: undefined } : now);
    if (differs === 'where') {
      problems.push(`target ${t.target}: the plan was made for ${describeFingerprint(bound)}; ${loaded.file} points it at ${describeFingerprint(now)}`);
    } else if (differs === 'credential') {
      problems.push(
        `target ${t.target}: the plan was made with another ${credentialName(now.authType)} than ${loaded.file} gives now (${describeFingerprint(now)}): ` +
          "another installation's, or one rotated since the plan was made",
      );
    }
  }
  if (problems.length > 0) throw new PlanError(`${file} was made for another configuration: make a new plan\n  - ${problems.join('\n  - ')}`);
}
