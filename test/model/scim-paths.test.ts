/**
 * Reading a path from what a server answered: attribute names and schema URNs are matched ignoring
 * case (RFC 7643 §2.1), whatever the key's length after lower-casing.
 */
import { expect, it } from 'vitest';
import { parsePath, readPath } from '../../src/model/scim-paths.js';

it('finds an attribute, a sub-attribute and an extension whatever their case', () => {
  const account = { UserName: 'ann@x.com', NAME: { GivenName: 'Ann' }, 'URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER': { Department: 'Eng' } };
  expect(readPath(account, parsePath('userName'))).toBe('ann@x.com');
  expect(readPath(account, parsePath('name.givenName'))).toBe('Ann');
  expect(readPath(account, parsePath('enterprise:department'))).toBe('Eng');
  expect(readPath(account, parsePath('title'))).toBeNull();
});

it('a schema URN holding a character whose lower case is longer (U+0130) is still found in another case', () => {
  const account = { 'urn:example:i\u0307x': { dept: 'Sales' } };
  expect(readPath(account, parsePath('urn:example:\u0130x:dept'))).toBe('Sales');
});

it('an inherited or prototype name is never read as an attribute', () => {
  const account = JSON.parse('{"userName":"ann@x.com"}') as Record<string, unknown>;
  expect(readPath(account as never, parsePath('constructor'))).toBeNull();
  expect(readPath(account as never, parsePath('toString'))).toBeNull();
});
