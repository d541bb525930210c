/**
 * `check --write-probe`: what a target keeps and finds of the writes a sync sends, tried on one
 * throwaway user instead of on people. It creates `scim-sync-probe+<random>@invalid.example` (a
 * userName with `+`, a domain that cannot exist), looks it up by userName and by externalId, sets
 * the enterprise manager and department in each PATCH shape until one is kept (read back after
 * each), and removes the probe: DELETE, or a deactivation where deletes are not allowed (then the
 * finding names the account to remove by hand). Opt-in: it writes, and every write it sends is in
 * the provisioning log (probe-log.ts), whose first append is proved before the create.
 *
 * A shape that is not kept leaves the attribute as it was, so the next shape is tried on a clean
 * account without undoing anything.
 */
import { randomBytes } from 'node:crypto';
import type { AuditSink } from '../audit/audit-sink.js';
import type { TargetQuirks } from '../config/profiles.js';
import { AuthError, InterruptedError, NotFoundError, ProtocolError, ScimSyncError, TransientError, describeError } from '../errors.js';
import { SCHEMA_ENTERPRISE_USER, SCHEMA_USER, type JsonObject, type JsonValue, type PatchOperation, type ServerResource } from '../model/scim.js';
import { changeHolds } from '../planning/change-holds.js';
import { distinctShapes } from '../targets/patch-shape.js';
import type { ScimTarget } from '../targets/scim-target.js';
import type { Finding } from './finding.js';
import { askFilter, carries, ignoredMessage } from './filter-answer.js';
import { ProbeLog } from './probe-log.js';
import { readUnlessGone } from '../execution/confirm-gone.js';

export interface ProbeReport {
  /** The probe's userName. */
  userName: string;
  findings: Finding[];
  /**
   * Why the probe did not finish: a write failed or was refused (`auth`: the credential reads but
   * may not write), or the server answered with an account that is not the probe.
   */
  failure?: { code: string; message: string; auth: boolean };
  /**
   * The probe, still in the target (deactivated where it could be), to remove by hand. `id` is null
   * when no account proved to be the probe: an id then could name someone else's.
   */
  leftBehind?: { id: string | null; userName: string };
}

/** One attribute to write in each shape: its planned path and the value it should end with. */
interface ProbedAttribute {
  name: string;
  /** The RFC operation for a value (each shape's try gets a fresh value where it can). */
  operation: (value: JsonValue) => PatchOperation;
  /** The change as the planner would check it. */
  path: string;
  values: (n: number) => JsonValue;
}

/** Attribute names of the resource that equal a path a PATCH named: the path taken as a top-level key. */
function keyNamedAfter(resource: JsonObject, path: string): boolean {
  return Object.keys(resource).some((k) => k.toLowerCase() === path.toLowerCase());
}

/** What makes an account the probe: a fresh random externalId, and the userName it was created with. */
interface ProbeIdentity {
  userName: string;
  externalId: string;
}

function isProbe(resource: ServerResource, probe: ProbeIdentity): boolean {
  return carries(resource, 'externalId', probe.externalId) && carries(resource, 'userName', probe.userName);
}

/** An account that did not prove to be the probe: nothing is written to it. */
class NotTheProbeError extends ProtocolError {}

/**
 * The account at `id`, read now, when it is the probe; else NotTheProbeError. Every PATCH and DELETE
 * of the probe goes after one: a server may answer a create with someone else's id, or a lookup
 * with someone else's account, and the probe writes to no one but itself.
 */
async function confirmProbe(client: ScimTarget, id: string, probe: ProbeIdentity): Promise<void> {
  const read = await client.get('Users', id);
  if (isProbe(read, probe)) return;
  const held = (key: string) => (typeof read[key] === 'string' ? `"${read[key]}"` : 'none');
  // Our externalId under another userName is most likely the probe renamed by the server (a "+" not
  // kept as sent), but only the two together prove it.
  const renamed = carries(read, 'externalId', probe.externalId) ? ' (the server may have changed the userName it was sent)' : '';
  throw new NotTheProbeError(
    `the account with id ${id} has externalId ${held('externalId')} and userName ${held('userName')}, not the probe's${renamed}: nothing was written to it`,
  );
}

/**
 * Finds the probe when its create was answered without an id (or its answer was lost). Only an
 * account that carries the probe's externalId and userName is taken: a server that ignores filters
 * answers its first user, a real person.
 */
async function findProbe(client: ScimTarget, probe: ProbeIdentity): Promise<ServerResource | undefined> {
  const found = await client.findBy('Users', 'externalId', probe.externalId).catch(() => []);
  const own = found.find((r) => isProbe(r, probe));
  if (own) return own;
  for await (const page of client.pages('Users', { pageSize: 100 })) {
    const listed = page.find((r) => isProbe(r, probe));
    if (listed) return listed;
  }
  return undefined;
}

export interface ProbeOptions {
  /** Whether the target serves the enterprise extension (else the PATCH shapes are not tried). */
  enterprise: boolean;
  /**
   * The operator's stop: no step of the probe starts after it, and the probe is still removed (the
   * write in flight finishes first).
   */
  signal?: AbortSignal;
  /** Told the probe's userName before it is created, so that a probe a killed check leaves can be found. */
  announce?: (userName: string) => void;
  /** The provisioning log every write of the probe is recorded in (a log that cannot be written throws its StateError before the create). */
  audit: AuditSink;
  /** The check's id in that log (its records' cycleId). */
  cycleId: string;
}

export async function writeProbe(target: string, client: ScimTarget, quirks: TargetQuirks, options: ProbeOptions): Promise<ProbeReport> {
  const token = randomBytes(4).toString('hex');
  const probe: ProbeIdentity = { userName: `scim-sync-probe+${token}@invalid.example`, externalId: `scim-sync-probe-${token}` };
  const { userName, externalId } = probe;
  const { enterprise, signal } = options;
  const checkpoint = () => {
    if (signal?.aborted) throw signal.reason;
  };
  const findings: Finding[] = [];
  const say = (level: Finding['level'], message: string) => findings.push({ level, message });
  const report: ProbeReport = { userName, findings };
  const fail = (error: ScimSyncError, message: string) => (report.failure = { code: error.code, message, auth: error instanceof AuthError });

  const log = new ProbeLog(options.audit, options.cycleId, target, probe);
  options.announce?.(userName);
  log.start();
  let created: ServerResource | undefined;
  let lostAnswer = false;
  try {
    created = await client.create(
      'Users',
      {
        schemas: [SCHEMA_USER],
        userName,
        externalId,
        name: { givenName: 'scim-sync', familyName: 'write probe' },
        displayName: 'scim-sync write probe (safe to delete)',
        emails: [{ type: 'work', value: userName, primary: true }],
        active: true,
      },
      userName,
    );
  } catch (error) {
    if (!(error instanceof ScimSyncError)) throw error;
    if (!(error instanceof TransientError)) {
      log.wrote('probe.create', 'failed', {}, error);
      fail(error, `could not create the probe user ${userName}: ${describeError(error)}`);
      return report;
    }
    created = await findProbe(client, probe);
    if (!created) {
      log.wrote('probe.create', 'failed', { note: 'no such account exists after the failed create' }, error);
      fail(error, `the create of ${userName} failed (${describeError(error)}) and no such account exists: nothing else was tried`);
      return report;
    }
    lostAnswer = true;
    say('warning', 'the create was answered without the resource id (or not at all), but the account exists: scim-sync looks such accounts up by externalId');
  }
  const id = created.id;
  try {
    // The create is recorded once its answer's id is proved to be the probe's: an id the server
    // answered for someone else's account is not written down as the probe's.
    await confirmProbe(client, id, probe).catch((error: unknown) => {
      log.wrote('probe.create', 'ok', { note: `created; the id answered, ${id}, is not the probe's: ${error instanceof Error ? error.message : String(error)}` });
      throw error;
    });
    log.wrote('probe.create', 'ok', { scimId: id, ...(lostAnswer ? { note: 'created (confirmed after a lost answer)' } : {}) });
    say('ok', `created ${userName} (id ${id})`);
    checkpoint();
    await probeLookups(client, id, probe, say);
    if (enterprise) await probeShapes(target, client, id, probe, quirks, say, checkpoint, log);
    else say('info', 'no enterprise extension: the manager and department PATCH shapes were not tried');
  } catch (error) {
    if (!(error instanceof ScimSyncError)) throw error;
    if (error instanceof InterruptedError) fail(error, `stopped by ${error.signal}: the rest of the probe was not tried`);
    else fail(error, error instanceof NotTheProbeError ? error.message : `the probe stopped: ${describeError(error)}`);
  }
  try {
    const why = await removeProbe(client, id, probe, quirks, say, log);
    if (why !== undefined) {
      report.leftBehind = { id, userName };
      log.left(id, why, report.failure);
    }
  } catch (error) {
    if (!(error instanceof NotTheProbeError)) throw error;
    say('warning', `${error.message}; the probe was not removed: look for ${userName} by hand`);
    report.leftBehind = { id: null, userName };
    log.left(null, error.message, report.failure);
  }
  return report;
}

async function probeLookups(client: ScimTarget, id: string, probe: ProbeIdentity, say: (level: Finding['level'], message: string) => void): Promise<void> {
  const byName = await askFilter(client, 'userName', probe.userName);
  const foundByName = byName.kind === 'matches' && byName.resources.some((r) => r.id === id);
  if (byName.kind === 'ignored') say('warning', ignoredMessage('userName', probe.userName, byName));
  else if (foundByName) say('ok', `filter userName eq "${probe.userName}" finds it (a "+" in a filter is read as sent)`);
  else if (byName.kind === 'matches') {
    say(
      'warning',
      `filter userName eq "${probe.userName}" finds nothing: the server misreads "+" in filters (as a space, most likely). A lost answer or a 409 ` +
        'for such a userName is resolved by externalId or the listing instead; adopt: userName cannot take such accounts over',
    );
  } else say('warning', `filter userName eq "${probe.userName}" failed: ${describeError(byName.error)}`);
  const byKey = await askFilter(client, 'externalId', probe.externalId);
  // One warning about a server that ignores filters is enough.
  if (byKey.kind === 'ignored') {
    if (byName.kind !== 'ignored') say('warning', ignoredMessage('externalId', probe.externalId, byKey));
  } else if (byKey.kind === 'failed') say('warning', `filter externalId eq failed: ${describeError(byKey.error)}`);
  else if (byKey.resources.some((r) => r.id === id)) say('ok', 'filter externalId eq finds it');
  else say('warning', 'filter externalId eq finds nothing: a create whose answer is lost is found only by the listing');
}

async function probeShapes(
  target: string,
  client: ScimTarget,
  id: string,
  probe: ProbeIdentity,
  quirks: TargetQuirks,
  say: (level: Finding['level'], message: string) => void,
  checkpoint: () => void,
  log: ProbeLog,
): Promise<void> {
  const manager = `${SCHEMA_ENTERPRISE_USER}:manager`;
  const department = `${SCHEMA_ENTERPRISE_USER}:department`;
  const attributes: ProbedAttribute[] = [
    // The probe is its own manager: the one account it may name without touching anyone's.
    { name: 'manager', path: `${manager}.value`, operation: (value) => ({ op: 'replace', path: manager, value: { value } }), values: () => id },
    { name: 'department', path: department, operation: (value) => ({ op: 'replace', path: department, value }), values: (n) => `scim-sync probe ${n}` },
  ];
  const keptIn = new Map<string, string>();
  for (const attribute of attributes) {
    const tried: string[] = [];
    const refused: string[] = [];
    let kept: string | undefined;
    let misplaced = false;
    const shapes = distinctShapes([attribute.operation(attribute.values(0))], quirks.patchShape);
    for (const [n, shape] of shapes.entries()) {
      const value = attribute.values(n + 1);
      const operation = attribute.operation(value);
      tried.push(shape);
      checkpoint();
      await confirmProbe(client, id, probe);
      try {
        const change = { path: attribute.path, from: null, to: value };
        await log.send('probe.patch', () => client.patch('Users', id, [operation], probe.userName, { shapeOf: () => shape }), {
          scimId: id,
          changes: [change],
          note: `patchShape ${shape}`,
        });
      } catch (error) {
        if (error instanceof AuthError || !(error instanceof ScimSyncError) || error instanceof TransientError) throw error;
        refused.push(`${shape}: ${describeError(error)}`);
        continue;
      }
      const read = await client.get('Users', id);
      if (changeHolds(read, { path: attribute.path, from: null, to: value })) {
        kept = shape;
        break;
      }
      if (operation.path && keyNamedAfter(read, operation.path)) misplaced = true;
    }
    const how = misplaced ? ' (it stores a PATCH with the full URN path under a top-level key named after the path)' : '';
    if (kept === undefined && refused.length === tried.length) {
      say('warning', `${attribute.name}: the server refused it in every PATCH shape (${refused.join('; ')})`);
    } else if (kept === undefined) {
      say('warning', `${attribute.name} is not kept in any PATCH shape (tried ${tried.join(', ')})${how}: runs will park such changes`);
    } else if (kept === quirks.patchShape) {
      say('ok', `${attribute.name}: kept with patchShape ${kept}`);
    } else {
      keptIn.set(attribute.name, kept);
      say('warning', `${attribute.name} is not kept with patchShape ${tried.slice(0, -1).join(', ')}${how}; patchShape ${kept} keeps it`);
    }
  }
  if (keptIn.size > 0) {
    say(
      'info',
      `runs learn the shape each attribute is kept in by themselves (targets.${target}.writeChecks.verify: learn, the default) and say so once; ` +
        'quirks.patchShape sets one shape for every attribute instead',
    );
  }
}

/**
 * DELETE, else a deactivation; undefined when the probe is gone, else why it is still there. Only a 404 on reading the probe back
 * proves it gone: a 404 on the DELETE itself may be a route the server lacks (the account still there), so it proves nothing.
 */
async function removeProbe(
  client: ScimTarget,
  id: string,
  probe: ProbeIdentity,
  quirks: TargetQuirks,
  say: (level: Finding['level'], message: string) => void,
  log: ProbeLog,
): Promise<string | undefined> {
  const { userName } = probe;
  let why = 'the profile says the server has no DELETE';
  if (quirks.supportsDelete) {
    let failed: string | undefined;
    let answered404 = false;
    try {
      await confirmProbe(client, id, probe);
      await log.send('probe.delete', () => client.delete('Users', id, userName), { scimId: id }).catch((error: unknown) => {
        if (!(error instanceof NotFoundError)) throw error;
        answered404 = true;
      });
    } catch (error) {
      if (error instanceof NotTheProbeError || !(error instanceof ScimSyncError)) throw error;
      failed = describeError(error);
    }
    if (await gone(client, id)) {
      say('ok', `deleted the probe ${userName}`);
      return undefined;
    }
    why = failed ? `the DELETE failed: ${failed}` : `it is still there after a DELETE${answered404 ? ' answered 404' : ''}`;
  }
  try {
    await confirmProbe(client, id, probe);
    const deactivate = () => client.patch('Users', id, [{ op: 'replace', path: 'active', value: false }], userName);
    await log.send('probe.deactivate', deactivate, { scimId: id, changes: [{ path: 'active', from: true, to: false }] });
    say('warning', `could not delete the probe (${why}): deactivated it instead; remove ${userName} (id ${id}) by hand`);
    return `could not delete it (${why}): deactivated instead`;
  } catch (error) {
    if (error instanceof NotTheProbeError || !(error instanceof ScimSyncError)) throw error;
    if (error instanceof NotFoundError) {
      say('ok', `the probe ${userName} is gone (${why})`);
      return undefined;
    }
    say('warning', `could not delete the probe (${why}) nor deactivate it (${describeError(error)}): remove ${userName} (id ${id}) by hand`);
    return `could not delete it (${why}) nor deactivate it (${describeError(error)})`;
  }
}

/** True only when reading the account answers 404 (confirm-gone.ts); any other answer, an error included, may mean it is there. */
async function gone(client: ScimTarget, id: string): Promise<boolean> {
  try {
    return (await readUnlessGone(client, 'Users', id)) === undefined;
  } catch (error) {
    if (!(error instanceof ScimSyncError)) throw error;
    return false;
  }
}
