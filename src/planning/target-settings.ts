import type { TargetConfig } from '../config/schema/index.js';

/** What the planner needs to know about a target, resolved from config and discovery. */
export interface TargetSettings {
  operations: TargetConfig['operations'];
  deprovision: TargetConfig['deprovision'];
  adopt: TargetConfig['adopt'];
  /** The target's matching rules as written (match-rules.ts); absent: implied by `adopt`. */
  match?: { on: readonly string[]; adopt: readonly string[] };
  /** Resolved from `updateMethod: auto` and the server's ServiceProviderConfig. */
  updateMethod: 'patch' | 'put';
  /** The server supports ETags: updates and deprovisions carry the version they were planned on. */
  useEtags?: boolean;
}
