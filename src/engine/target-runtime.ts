/** A configured target turned into a client and the settings the planner and executor need. */
import type { TargetConfig } from '../config/schema.js';
import type { TargetRuntime } from '../execution/executor.js';
import { DEFAULT_RETRY_POLICY } from '../execution/retry-policy.js';
import type { TargetSettings } from '../planning/target-settings.js';
import type { ScimCapabilities } from '../targets/http/capabilities.js';
import { ScimClient } from '../targets/http/scim-client.js';

export function createTargetRuntime(name: string, config: TargetConfig): TargetRuntime {
  const client = new ScimClient({
    target: name,
    baseUrl: config.url,
    auth: config.auth,
    timeoutMs: config.timeoutMs,
    maxSockets: config.concurrency,
  });
  return { name, client, concurrency: config.concurrency, retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: config.retries } };
}

export function targetSettings(config: TargetConfig, capabilities: ScimCapabilities): TargetSettings {
  const updateMethod = config.updateMethod === 'auto' ? (capabilities.patch ? 'patch' : 'put') : config.updateMethod;
  return { operations: config.operations, deprovision: config.deprovision, adopt: config.adopt, updateMethod };
}
