/**
 * Sandbox profiles: behaviour presets that make the sandbox act like a vendor's SCIM server, the
 * server side of the client's quirk profiles (src/config/profiles.ts), so every profile can be
 * rehearsed and tested over real HTTP. The sandbox shares no code with the client it tests: the
 * names are its own, kept equal to the client's by test/targets/profiles.test.ts.
 */
import type { SandboxBehaviour } from './behaviour.js';

export const SANDBOX_PROFILE_NAMES = ['generic', 'aws', 'github', 'slack', 'entra-compatible'] as const;
export type SandboxProfileName = (typeof SANDBOX_PROFILE_NAMES)[number];

export const SANDBOX_PROFILES: Readonly<Record<SandboxProfileName, Partial<SandboxBehaviour>>> = {
  generic: {},
  // AWS IAM Identity Center.
  aws: {
    groupMembersInList: false,
    groupMembersInGet: false,
    maxPatchOperations: 100,
    filterOperators: ['eq', 'and'],
    maxPageSize: 100,
    defaultPageSize: 50,
    supportsEtag: false,
    supportsSort: false,
  },
  // GitHub Enterprise Managed Users.
  github: {
    requireUserAgent: true,
    createRateLimit: { requests: 1000, perMs: 3_600_000 },
    filterOperators: ['eq'],
    supportsEtag: false,
    supportsSort: false,
  },
  // Slack: about 600 writes a minute for the organisation, 429 with Retry-After beyond.
  slack: {
    rateLimit: { requests: 600, perMs: 60_000 },
    supportsEtag: false,
  },
  // A server written for Entra ID's client.
  'entra-compatible': {
    filterOperators: ['eq', 'and'],
    maxPageSize: 100,
    lenientBooleans: true,
    supportsEtag: false,
  },
};

/** The profile's behaviour, then explicit overrides on top. */
export function profileBehaviour(profile: SandboxProfileName | undefined, overrides: Partial<SandboxBehaviour> = {}): Partial<SandboxBehaviour> {
  return { ...(profile ? SANDBOX_PROFILES[profile] : {}), ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}
