/**
 * Where a target points and as whom, never a secret: what a plan is bound to (engine/plan-binding.ts)
 * and what a distributed worker compares with its own config before it writes for a cycle
 * (execution/bullmq/chunk-jobs.ts). One definition, so the planner and the workers cannot disagree
 * on what "the same target" means.
 */
import type { TargetFingerprint } from '../model/plan.js';
import type { TargetConfig } from './schema/index.js';

/** The URL without any user information, the auth type and the identity (user name, client id, header name, token origin). */
export function targetFingerprint(config: TargetConfig): TargetFingerprint {
  const url = new URL(config.url);
  url.username = '';
  url.password = '';
  const auth = config.auth;
  const identity =
    auth.type === 'basic'
      ? auth.username
      : auth.type === 'oauth2'
        ? `${auth.clientId} at ${auth.tokenUrl}`
        : auth.type === 'header'
          ? `${auth.name} from ${auth.token.origin}`
          : auth.type === 'bearer'
            ? `token from ${auth.token.origin}`
            : null;
  return { url: url.toString(), authType: auth.type, identity };
}

export const sameTarget = (a: TargetFingerprint, b: TargetFingerprint): boolean => a.url === b.url && a.authType === b.authType && a.identity === b.identity;

/** "https://host/scim/v2 (bearer, token from env:NAME)", for messages. */
export const describeFingerprint = (f: TargetFingerprint): string => `${f.url} (${f.authType}${f.identity ? `, ${f.identity}` : ''})`;
