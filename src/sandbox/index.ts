/** The bundled SCIM 2.0 sandbox server (RFC 7643/7644): strict, fast, with fault injection. */
export { startSandbox } from './server.js';
export type { Sandbox, SandboxOptions, RecordedRequest } from './server.js';
export type { SandboxBehaviour } from './behaviour.js';
export { DEFAULT_BEHAVIOUR } from './behaviour.js';
export type { FaultRule, FaultAction } from './faults.js';
export { SandboxStore } from './resource-store.js';
export type { StoreSnapshot } from './resource-store.js';
export { ScimError } from './errors.js';
export type { SandboxRateLimit } from './behaviour.js';
export { SANDBOX_PROFILE_NAMES, SANDBOX_PROFILES, type SandboxProfileName } from './profiles.js';
