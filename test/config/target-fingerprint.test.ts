/**
 * A target's fingerprint carries a digest of its credential's value, which goes into saved plan
 * files and Redis: whoever reads those may try guesses of a weak password against it, so it is
 * scrypt's (each guess costs tens of milliseconds and megabytes), salted by the plan, never the
 * secret nor a fast hash of it; taken ahead in the background, it is the same digest.
 */
import { createHmac, scryptSync } from 'node:crypto';
import { expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import type { TargetConfig } from '../../src/config/schema/index.js';
import { prepareCredentialDigests, targetDifference, targetFingerprint } from '../../src/config/target-fingerprint.js';

const basic = (password: string) => ({ url: 'https://app.example.com/scim/v2', auth: { type: 'basic', username: 'sync', password: new Secret(password, 'env:APP_PASSWORD') } }) as unknown as TargetConfig;

it('is scrypt over the value, salted by the plan; another value or another plan gives another digest', async () => {
  const digest = targetFingerprint(basic('summer2026'), 'plan-1').credential!;
  const slow = scryptSync('summer2026', 'scim-sync target credential\nbasic\nplan-1', 16, { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64url');
  expect(digest).toBe(slow);
  // Not an HMAC a dictionary runs through at billions a second, nor the secret.
  expect(digest).not.toBe(createHmac('sha256', 'plan-1').update('scim-sync target credential\nbasic\n').update('summer2026').digest().subarray(0, 16).toString('base64url'));
  expect(digest).not.toContain('summer2026');
  expect(targetFingerprint(basic('summer2026'), 'plan-2').credential).not.toBe(digest);
  expect(targetDifference(targetFingerprint(basic('summer2026'), 'plan-1'), targetFingerprint(basic('winter2026'), 'plan-1'))).toBe('credential');

  await prepareCredentialDigests([basic('autumn2026')], 'plan-3');
  expect(targetFingerprint(basic('autumn2026'), 'plan-3').credential).toBe(scryptSync('autumn2026', 'scim-sync target credential\nbasic\nplan-3', 16, { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64url'));
});

it('is made once per config and plan: the same again, another for another plan or another config', () => {
  const config = basic('spring2026');
  const first = targetFingerprint(config, 'plan-4');
  // A worker checks every chunk job against it: the same fingerprint, not taken again.
  expect(targetFingerprint(config, 'plan-4')).toBe(first);
  expect(Object.isFrozen(first)).toBe(true);
  const next = targetFingerprint(config, 'plan-5');
  expect(next.credential).not.toBe(first.credential);
  expect(targetFingerprint(config, 'plan-4')).toEqual(first);
  // Another config (reloaded, another password) is fingerprinted afresh.
  expect(targetDifference(first, targetFingerprint(basic('spring2027'), 'plan-4'))).toBe('credential');
});
