/** Credentials in the config: which keys hold them, and the field that takes one. */
import * as z from 'zod';
import { Secret } from '../secret.js';

/**
 * Keys whose string values are credentials; the loader wraps them in `Secret` before validation.
 * `redis` is a URL that may hold a password (redis://:password@host:6379); `credentials` is a
 * Google service account key; `secret` is a webhook's signing key.
 */
export const SECRET_KEYS = new Set(['token', 'password', 'clientSecret', 'redis', 'credentials', 'secret']);

/** Whether a value written inline under a SECRET_KEYS key is a credential worth a warning. */
export function holdsCredential(key: string, value: string): boolean {
  if (key !== 'redis') return true;
  try {
    return new URL(value).password !== '';
  } catch {
    return true;
  }
}

export const secret = z
  .instanceof(Secret, { message: 'must be a string, ideally a reference like ${env:NAME} or ${file:path}' })
  .meta({ type: 'string', description: 'A credential. Write ${env:NAME} or ${file:path} rather than the value itself.' });

