/**
 * Naming Redis and its failures, for every command of distributed mode: its address without the
 * password, whether an error is Redis not answering, and the error that says so with what was
 * being done. No ioredis here: the embedded mode's commands and the CLI's error exit load this
 * without loading the client.
 */
import type { Secret } from '../config/secret.js';
import { StateError } from '../errors.js';

/** host:port of a Redis URL, safe to show. */
export function redisAddress(url: Secret): string {
  try {
    const u = new URL(url.reveal());
    return `${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return '(unparsable Redis URL)';
  }
}

/**
 * Whether `error` is Redis not answering, as ioredis reports it to a command: past its timeout
 * (queue.commandTimeoutMs), after its reconnects failed, or on a connection closed. Not an error of
 * the data, and nothing another client (a SCIM server, LDAP) would throw.
 */
export function redisUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || error.message === 'Command timed out' || error.message === 'Connection is closed.';
}

/** A StateError naming Redis (host:port, never the password) and what was being done when it stopped answering. */
export function redisFailure(url: Secret, doing: string, error: unknown): StateError {
  return new StateError(`Redis ${redisAddress(url)} did not answer while ${doing}: ${unreachableWhy(error)}; is it up and reachable? (queue.redis)`, {}, { cause: error });
}

/** ioredis's words for it, in ours. */
export function unreachableWhy(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'MaxRetriesPerRequestError') return 'the connection was lost and could not be made again';
  if (error.message.startsWith('Command timed out')) return 'no answer within queue.commandTimeoutMs';
  return error.message;
}

/** Runs `step`; Redis not answering becomes redisFailure(url, doing); any other error goes through as it is. */
export async function redisStep<T>(url: Secret, doing: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw redisUnreachable(error) ? redisFailure(url, doing, error) : error;
  }
}
