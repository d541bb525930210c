/** A configured target turned into a client and the settings the planner and executor need. */
import type { TargetConfig } from '../config/schema/index.js';
import type { TargetRuntime } from './executor.js';
import { DEFAULT_RETRY_POLICY } from '../targets/http/retry-policy.js';
import type { TargetSettings } from '../planning/target-settings.js';
import type { ScimCapabilities } from '../targets/http/capabilities.js';
import { ScimClient } from '../targets/http/scim-client.js';
import { readTlsFiles } from '../targets/http/transport.js';
import { resolveQuirks, type RateLimit, type TargetQuirks } from '../config/profiles.js';

export function targetQuirks(config: TargetConfig): TargetQuirks {
  return resolveQuirks(config.profile, config.quirks);
}

/** The target's request budget: its own rateLimit, else its profile's; null when unlimited. */
export function targetRateLimit(config: TargetConfig): RateLimit | null {
  return config.rateLimit ?? targetQuirks(config).rateLimit;
}

/**
 * The default of `stopAfterFailures`: failures in a row per request in flight (a burst of 429s
 * answers every slot at once, a few times over before a healthy server recovers), at least the
 * minimum.
 */
const STOP_AFTER_FAILURES_PER_SLOT = 5;
const MIN_STOP_AFTER_FAILURES = 20;

export function createTargetRuntime(name: string, config: TargetConfig): TargetRuntime {
  const quirks = targetQuirks(config);
  const tls = readTlsFiles(config.tls, `targets.${name}`);
  const retry = { ...DEFAULT_RETRY_POLICY, maxAttempts: config.retries };
  const rateLimit = targetRateLimit(config);
  const client = new ScimClient({
    target: name,
    baseUrl: config.url,
    auth: config.auth,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: config.maxResponseBytes,
    maxSockets: config.concurrency,
    quirks,
    rateLimit,
    readRetry: retry,
    ...(tls ? { tls } : {}),
  });
  const writeChecks = { verify: config.writeChecks.verify, parkAfterRuns: config.writeChecks.parkAfterRuns, shape: quirks.patchShape };
  const stopAfterFailures = config.stopAfterFailures ?? Math.max(MIN_STOP_AFTER_FAILURES, STOP_AFTER_FAILURES_PER_SLOT * config.concurrency);
  return { name, client, concurrency: config.concurrency, rateLimit, retry, stopAfterFailures, writeChecks, ...(quirks.groupMembersInList ? {} : { membersNowhere: true }) };
}

/** Config, profile and discovery together: what the planner may rely on for this target. */
export function targetSettings(config: TargetConfig, capabilities: ScimCapabilities): TargetSettings {
  const quirks = targetQuirks(config);
  const updateMethod = config.updateMethod === 'auto' ? (capabilities.patch ? 'patch' : 'put') : config.updateMethod;
  const deprovision = config.deprovision === 'delete' && !quirks.supportsDelete ? 'deactivate' : config.deprovision;
  return {
    operations: config.operations,
    deprovision,
    adopt: config.adopt,
    ...(config.match ? { match: config.match } : {}),
    updateMethod,
    useEtags: capabilities.etag && quirks.etag === 'auto',
  };
}

/** The target's group settings, with the member-change limit of its profile when that is stricter. */
export function groupSettings(config: TargetConfig): TargetConfig['groups'] {
  const profileLimit = targetQuirks(config).maxMembersPerPatch;
  return profileLimit === null ? config.groups : { ...config.groups, maxMembersPerPatch: Math.min(config.groups.maxMembersPerPatch, profileLimit) };
}
