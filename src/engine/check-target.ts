/**
 * `check`: the "Test connection" step of an IdP, for one target. Reads only: discovery, one user,
 * and userName filters on that user and on a name nobody has (servers that do not support a filter
 * often answer it with an empty 200, which a sync would read as "not found" and create a duplicate;
 * others answer it with every user). Reports what the server supports, what scim-sync will do with
 * it, and what will not work.
 */
import type { TargetConfig } from '../config/schema/index.js';
import { AuthError, NotFoundError, ScimSyncError, StateError, describeError } from '../errors.js';
import type { ServerResource } from '../model/scim.js';
import type { ScimCapabilities } from '../targets/http/capabilities.js';
import { SCHEMA_ENTERPRISE_USER } from '../model/scim.js';
import type { RateLimit, TargetQuirks } from '../config/profiles.js';
import { supportsOperator } from '../config/profiles.js';
import { createTargetRuntime, targetQuirks, targetSettings } from '../execution/target-runtime.js';
import type { Finding } from './finding.js';
import { writeProbe, type ProbeOptions, type ProbeReport } from './write-probe.js';
import { NO_SUCH_USER_NAME, askFilter, ignoredMessage } from './filter-answer.js';
import { matchRules } from '../planning/match-rules.js';
import type { UserMapping } from '../mapping/user-mapping.js';
import { fitToExtensions } from './make-plan.js';
import { fitToSchemas } from '../mapping/schema-fit.js';

export type { Finding } from './finding.js';

export interface TargetCheck {
  target: string;
  url: string;
  profile: TargetConfig['profile'];
  /** False when the target cannot be synced (credential refused, unreachable, not SCIM). */
  usable: boolean;
  /** Why it is not usable; `auth` is true when the credential was refused. */
  failure?: { code: string; message: string; auth: boolean };
  capabilities?: ScimCapabilities;
  quirks: TargetQuirks;
  /** What a sync will do, resolved from config, profile and discovery. */
  effective?: { updateMethod: 'patch' | 'put'; pageSize: number; rateLimit: RateLimit | null; ifMatch: boolean; deprovision: 'deactivate' | 'delete' };
  /** Users the server reports, and the one read. */
  users?: { total: number; sample?: { id: string; userName: string } };
  proxy: string | null;
  findings: Finding[];
  /** `--write-probe`: what the target kept and found of the writes tried on a throwaway user. */
  probe?: ProbeReport;
}

function userNameOf(r: ServerResource | undefined): string | undefined {
  return typeof r?.['userName'] === 'string' ? r['userName'] : undefined;
}

/** Swaps the case of every letter: a probe for case-insensitive matching. */
function swapCase(text: string): string {
  return [...text].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
}

/**
 * `writeProbe`: also try writes on a throwaway user (write-probe.ts), once the target proved usable,
 * with these options (a stop before it starts skips it). A StateError (the provisioning log cannot
 * be written) is thrown, not reported as the target's: it is no fault of the target.
 * `mapping`: the target's mapping (its explicit rules), checked against the schemas the target serves.
 */
export async function checkTarget(
  name: string,
  config: TargetConfig,
  options: { writeProbe?: Omit<ProbeOptions, 'enterprise'>; mapping?: UserMapping } = {},
): Promise<TargetCheck> {
  const quirks = targetQuirks(config);
  const runtime = createTargetRuntime(name, config);
  const { client } = runtime;
  const check: TargetCheck = { target: name, url: config.url, profile: config.profile, usable: false, quirks, proxy: client.proxy, findings: [] };
  const say = (level: Finding['level'], message: string) => check.findings.push({ level, message });
  try {
    const capabilities = await client.discover();
    check.capabilities = capabilities;
    const settings = targetSettings(config, capabilities);
    const rateLimit = config.rateLimit ?? quirks.rateLimit;
    check.effective = {
      updateMethod: settings.updateMethod,
      pageSize: client.pageSize(config.pageSize),
      rateLimit,
      ifMatch: settings.useEtags === true,
      deprovision: settings.deprovision,
    };

    // One user, which also proves the credential (discovery may be public, RFC 7644 §4), read through
    // the listing's own checks: a server whose lists a run would refuse is not usable.
    const first = await client.firstPage('Users', 1);
    const sample = first.resources[0];
    const sampleName = userNameOf(sample);
    check.users = {
      total: first.totalResults,
      ...(sample && typeof sample['id'] === 'string' && sampleName ? { sample: { id: sample['id'], userName: sampleName } } : {}),
    };
    check.usable = true;
    say('ok', `credential accepted; ${check.users.total} user${check.users.total === 1 ? '' : 's'} in the target${sampleName ? ` (read ${sampleName})` : ''}`);

    if (!capabilities.discovered) say('info', 'no ServiceProviderConfig (404): assuming PATCH and filters, as Entra ID and Okta do');
    const extensions = await client.userSchemaExtensions();
    if (extensions && !extensions.has(SCHEMA_ENTERPRISE_USER.toLowerCase())) {
      say('warning', 'no enterprise extension for Users (/ResourceTypes/User): enterprise attributes (department, employeeNumber, manager...) are not sent');
    }
    if (options.mapping) {
      const schemas = await client.schemas();
      const fitted = fitToSchemas(fitToExtensions(options.mapping, extensions, false).mapping, schemas);
      for (const note of fitted.notes) say('warning', note);
      if (!schemas) say('info', 'no /Schemas: mapped values are not checked against the attribute types of the target');
    }
    if (settings.updateMethod === 'put') {
      say('warning', 'no PATCH: updates and deactivations send PUT with the whole account; groups need PUT too (their whole member list per request)');
    }
    const canFilter = capabilities.filter.supported && supportsOperator(quirks, 'eq');
    if (!canFilter) {
      say('warning', 'no filter on userName: scim-sync cannot adopt existing accounts, nor resolve a 409 conflict by looking the account up');
    } else if (sampleName) {
      const found = await askFilter(client, 'userName', sampleName);
      // The user it should find may be all a server that ignores filters holds: a name nobody has tells.
      const nobody = found.kind === 'matches' ? await askFilter(client, 'userName', NO_SUCH_USER_NAME) : undefined;
      if (found.kind === 'failed') {
        say('warning', `filter userName eq "${sampleName}" failed (${describeError(found.error)}): cannot adopt accounts or resolve a 409 conflict`);
      } else if (found.kind === 'ignored') {
        say('warning', ignoredMessage('userName', sampleName, found));
      } else if (nobody?.kind === 'ignored') {
        say('warning', ignoredMessage('userName', NO_SUCH_USER_NAME, nobody));
      } else if (!found.resources.some((r) => r['id'] === sample?.['id'])) {
        say('warning', `filter userName eq "${sampleName}" does not find that user: the server ignores the filter; cannot adopt accounts or resolve a 409 conflict`);
      } else {
        say('ok', 'filter userName eq finds an existing user');
        if (swapCase(sampleName) !== sampleName) {
          const swapped = await askFilter(client, 'userName', swapCase(sampleName));
          const insensitive = swapped.kind === 'matches' && swapped.resources.some((r) => r['id'] === sample?.['id']);
          if (!insensitive && !quirks.userNameCaseExact) {
            say('warning', 'the server compares userName case-sensitively (RFC 7643 says it must not): set quirks.userNameCaseExact: true, and keep userName mappings in one case');
          } else if (insensitive && quirks.userNameCaseExact) {
            say('info', 'the server compares userName case-insensitively although quirks.userNameCaseExact is true');
          }
        }
      }
    } else {
      say('info', 'the target holds no user: the userName filter could not be tried on an account');
    }
    if (config.groups.enabled) {
      try {
        const listed = (await client.firstPage('Groups', 1)).resources;
        if (!quirks.groupMembersInList) say('info', 'the profile says the server returns no group members: each managed group is asked about each linked user with a filter');
        else if (listed[0] && !('members' in listed[0])) say('info', 'groups are listed without members: each managed group is read on its own');
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
        say('warning', 'no /Groups endpoint (404): set groups.enabled: false for this target, or every plan for it fails');
      }
    }
    const adopting = [...matchRules(settings).adopt];
    if (adopting.length > 0 && !canFilter) say('warning', `adopting by ${adopting.join(', ')} needs a filter on it, which this server lacks`);
    if (config.deprovision === 'delete' && settings.deprovision !== 'delete') say('warning', 'deprovision: delete, but the server has no DELETE: leavers are deactivated instead');
    if (capabilities.etag) say('info', settings.useEtags ? 'ETags: writes carry If-Match; a concurrent change is re-read and re-applied' : 'ETags supported, not used (quirks.etag: off)');
    if (capabilities.bulk.supported) {
      say('info', quirks.bulk === 'auto'
        ? `/Bulk supported (up to ${capabilities.bulk.maxOperations} operations): user writes go in batches`
        : `/Bulk supported (up to ${capabilities.bulk.maxOperations} operations); set quirks.bulk: auto to use it`);
    }
    if (config.pageSize !== undefined && check.effective.pageSize < config.pageSize) say('info', `list pages capped at ${check.effective.pageSize} (pageSize ${config.pageSize})`);
    if (rateLimit) say('info', `request budget: ${rateLimit.requests} per ${rateLimit.perMs} ms`);
    if (quirks.createRateLimit) say('info', `user creations: at most ${quirks.createRateLimit.requests} per ${quirks.createRateLimit.perMs} ms`);
    const probing = options.writeProbe;
    if (probing && !probing.signal?.aborted) {
      const enterprise = !extensions || extensions.has(SCHEMA_ENTERPRISE_USER.toLowerCase());
      check.probe = await writeProbe(name, client, quirks, { ...probing, enterprise });
    }
  } catch (error) {
    if (!(error instanceof ScimSyncError) || error instanceof StateError) throw error;
    check.usable = false;
    check.failure = { code: error.code, message: describeError(error), auth: error instanceof AuthError };
  }
  return check;
}
