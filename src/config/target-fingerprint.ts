/**
 * Where a target points and as whom, never a secret: what a plan is bound to (engine/plan-binding.ts)
 * and what a distributed worker compares with its own config before it writes for a cycle
 * (execution/bullmq/chunk-jobs.ts). One definition, so the planner and the workers cannot disagree
 * on what "the same target" means.
 */
import { createHmac, scrypt, scryptSync } from 'node:crypto';
import type { TargetFingerprint } from '../model/plan.js';
import type { TargetConfig } from './schema/index.js';

/** The secret the target's auth sends, if it has one. */
function secretOf(auth: TargetConfig['auth']): string | undefined {
  switch (auth.type) {
    case 'bearer':
    case 'header':
      return auth.token.reveal();
    case 'basic':
      return auth.password.reveal();
    case 'oauth2':
      return auth.clientSecret.reveal();
    case 'none':
      return undefined;
  }
}

/** Bytes of the digest kept: 128 bits tell two credentials apart. */
const DIGEST_BYTES = 16;

/**
 * scrypt's cost: about 16 MB and tens of milliseconds per digest. The digest goes into saved plan
 * files and Redis, where whoever reads them may try guesses of a weak password (basic auth) against
 * it: each guess costs them as much, where a plain HMAC would take billions a second.
 */
const SCRYPT = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/**
 * The last fingerprint made of each target's config, with its key. A loaded config is never changed
 * (a new one is loaded whole), so a fingerprint is a function of the two; a worker checks every chunk
 * job of a cycle against the same one, and took two keyed hashes and a URL parse per chunk for it.
 */
const made = new WeakMap<TargetConfig, { key: string; fingerprint: TargetFingerprint }>();

/** Digests already taken, by a keyed hash of what they were taken of (not the secret itself); the last few only. */
const taken = new Map<string, string>();
const KEPT = 64;

const memoKey = (authType: string, secret: string, key: string): string =>
  createHmac('sha256', key).update(`${authType}\n`).update(secret).digest('base64url');
const salt = (authType: string, key: string): string => `scim-sync target credential\n${authType}\n${key}`;

function remember(memo: string, digest: string): string {
  taken.set(memo, digest);
  if (taken.size > KEPT) taken.delete(taken.keys().next().value!);
  return digest;
}

/**
 * A digest of the secret's value, salted by `key` (the plan's id): some vendors serve every tenant at
 * one SCIM URL (Slack, Zoom) and only the token's value tells them apart, which neither the URL nor
 * where the token is read from (`env:NAME`) says. Salted per plan, so it goes into plans and Redis
 * without being the same string wherever the secret is, and slow to guess (SCRYPT). Never the
 * secret, nor a fast hash of it. Taken once per plan and secret (`prepareCredentialDigests` takes
 * it off the main thread while the source is read).
 */
function credentialDigest(authType: string, secret: string, key: string): string {
  const memo = memoKey(authType, secret, key);
  return taken.get(memo) ?? remember(memo, scryptSync(secret, salt(authType, key), DIGEST_BYTES, SCRYPT).toString('base64url'));
}

/** Digests being taken in the background, by memo key: the chunks of one cycle that a worker starts together wait for one. */
const taking = new Map<string, Promise<void>>();

/**
 * Takes the credential digests of these targets for the plan `key` in the background (libuv's
 * pool), for targetFingerprint to find: the planner while it reads the source, a worker before a
 * cycle's first chunk (taken inline, it would hold every other target's writes on that worker
 * for the tens of milliseconds scrypt takes).
 */
export async function prepareCredentialDigests(targets: readonly TargetConfig[], key: string): Promise<void> {
  await Promise.all(
    targets.map((config) => {
      if (made.get(config)?.key === key) return;
      const { auth } = config;
      const secret = secretOf(auth);
      if (secret === undefined) return;
      const memo = memoKey(auth.type, secret, key);
      if (taken.has(memo)) return;
      let pending = taking.get(memo);
      if (!pending) {
        pending = new Promise<Buffer>((resolve, reject) => scrypt(secret, salt(auth.type, key), DIGEST_BYTES, SCRYPT, (error, out) => (error ? reject(error) : resolve(out))))
          .then((digest) => void remember(memo, digest.toString('base64url')))
          .finally(() => taking.delete(memo));
        taking.set(memo, pending);
      }
      return pending;
    }),
  );
}

/**
 * The URL without any user information, the auth type, the identity (user name, client id, header
 * name, token origin) and, for an auth with a secret, the digest of its value keyed by `key` (the
 * plan's id: a fingerprint is compared only with one made with the same key).
 */
export function targetFingerprint(config: TargetConfig, key: string): TargetFingerprint {
  const last = made.get(config);
  if (last?.key === key) return last.fingerprint;
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
  // Read here, for a digest that never leaves this function's keyed HMAC.
  const secret = secretOf(auth);
  const fingerprint: TargetFingerprint = Object.freeze({ url: url.toString(), authType: auth.type, identity, ...(secret !== undefined ? { credential: credentialDigest(auth.type, secret, key) } : {}) });
  made.set(config, { key, fingerprint });
  return fingerprint;
}

/**
 * How `now` differs from `planned`: `where` (another URL, auth type or identity), `credential` (the
 * same, with another secret value), or undefined when it does not. Both made with the same key.
 */
export function targetDifference(planned: TargetFingerprint, now: TargetFingerprint): 'where' | 'credential' | undefined {
  if (planned.url !== now.url || planned.authType !== now.authType || planned.identity !== now.identity) return 'where';
  return planned.credential === now.credential ? undefined : 'credential';
}

/** "https://host/scim/v2 (bearer, token from env:NAME)", for messages: never the credential's digest. */
export const describeFingerprint = (f: TargetFingerprint): string => `${f.url} (${f.authType}${f.identity ? `, ${f.identity}` : ''})`;

/** What a credential of this auth type is called in messages. */
export const credentialName = (authType: string): string =>
  authType === 'basic' ? 'password' : authType === 'oauth2' ? 'client secret' : authType === 'header' ? 'header value' : 'token';
