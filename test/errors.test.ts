/**
 * The error taxonomy: every class keeps the error it wraps (`cause`), for --debug and for whoever
 * reads a failure later, and carries its own stable code.
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';
import { ScimSyncError, type ErrorCode } from '../src/errors.js';

const cause = new Error('the underlying failure');
const ctx = { target: 'app' };

/** Each class, built wrapping `cause`, and the code it must carry. */
const BUILT: Record<string, [ScimSyncError, ErrorCode]> = {
  TransientError: [new errors.TransientError('m', ctx, true, { cause }), 'TRANSIENT'],
  RateLimitedError: [new errors.RateLimitedError('m', ctx, 1000, { cause }), 'RATE_LIMITED'],
  ConflictError: [new errors.ConflictError('m', ctx, { cause }), 'CONFLICT'],
  NotFoundError: [new errors.NotFoundError('m', ctx, { cause }), 'NOT_FOUND'],
  PreconditionFailedError: [new errors.PreconditionFailedError('m', ctx, { cause }), 'PRECONDITION_FAILED'],
  BadRequestError: [new errors.BadRequestError('m', ctx, { cause }), 'BAD_REQUEST'],
  NotStoredError: [new errors.NotStoredError('m', ctx, { cause }), 'NOT_STORED'],
  DependencyError: [new errors.DependencyError('m', ctx, { cause }), 'DEPENDENCY'],
  AuthError: [new errors.AuthError('m', ctx, { cause }), 'AUTH'],
  ProtocolError: [new errors.ProtocolError('m', ctx, { cause }), 'PROTOCOL'],
  ConfigError: [new errors.ConfigError('m', ['a: b'], { cause }), 'CONFIG'],
  SourceError: [new errors.SourceError('m', ctx, { cause }), 'SOURCE'],
  SafetyError: [new errors.SafetyError(['too many'], { cause }), 'SAFETY'],
  StateError: [new errors.StateError('m', ctx, { cause }), 'STATE'],
  InterruptedError: [new errors.InterruptedError('SIGINT', { cause }), 'INTERRUPTED'],
  StoppedError: [new errors.StoppedError('m', ctx, { cause }), 'STOPPED'],
  LockedError: [new errors.LockedError('m', ctx, { cause }), 'LOCKED'],
  PlanError: [new errors.PlanError('m', ctx, { cause }), 'PLAN'],
};

describe('error classes', () => {
  it('the table names every class errors.ts exports', () => {
    const classes = Object.entries(errors)
      .filter(([, v]) => typeof v === 'function' && v.prototype instanceof ScimSyncError)
      .map(([name]) => name);
    expect(Object.keys(BUILT).sort()).toEqual(classes.sort());
  });

  it.each(Object.entries(BUILT))('%s keeps its cause and carries its code', (name, [error, code]) => {
    expect(error.cause).toBe(cause);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
  });

  it('each code belongs to one class', () => {
    const codes = Object.values(BUILT).map(([, code]) => code);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
