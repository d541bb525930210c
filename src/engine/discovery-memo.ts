/**
 * A target's discovery documents (ServiceProviderConfig, /ResourceTypes/User, /Schemas) kept for a
 * while per client. The service plans a batch per HR event, and asking each target for its three
 * documents before every batch costs a round trip on the way to a leaver's deactivation and three
 * requests against the target's rate limit per event. Full cycles ask afresh; batches take what is
 * younger than `maxAgeMs` (a server whose capabilities change is seen within that bound). The client
 * keeps the capabilities its last discovery read, so skipping one changes nothing it sends.
 */
import type { ScimCapabilities } from '../targets/http/capabilities.js';
import type { TargetSchemas } from '../model/scim-schema.js';
import type { ScimTarget } from '../targets/scim-target.js';

export interface DiscoveryDocuments {
  capabilities: ScimCapabilities;
  extensions: ReadonlySet<string> | null;
  schemas: TargetSchemas | null;
}

/** How long the service's batches reuse a discovery. */
export const DISCOVERY_MAX_AGE_MS = 5 * 60_000;

export class DiscoveryMemo {
  private readonly kept = new WeakMap<ScimTarget, { at: number; documents: DiscoveryDocuments }>();

  constructor(
    private readonly maxAgeMs = DISCOVERY_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get(client: ScimTarget): DiscoveryDocuments | undefined {
    const kept = this.kept.get(client);
    return kept && this.now() - kept.at < this.maxAgeMs ? kept.documents : undefined;
  }

  set(client: ScimTarget, documents: DiscoveryDocuments): void {
    this.kept.set(client, { at: this.now(), documents });
  }
}
