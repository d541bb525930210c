/** For vitest files only (the benchmarks import ldap-fixtures.ts outside vitest). */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { Harness } from './harness.js';
import { directoryLdif } from './ldap-fixtures.js';
import { Slapd } from './slapd.js';

/**
 * For the calling describe block: a slapd holding the fixture directory, or `ldif` (started before
 * its tests, stopped after) and a new harness for each test, handed to `each` with the slapd before
 * the test.
 */
export function directoryAndHarness(each: (slapd: Slapd, h: Harness) => void, ldif: () => string = directoryLdif): void {
  let slapd: Slapd | undefined;
  let h: Harness | undefined;
  beforeAll(async () => {
    slapd = await Slapd.start();
    await slapd.add(ldif());
  });
  afterAll(async () => {
    await slapd?.stop();
  });
  beforeEach(async () => {
    h = await Harness.start();
    each(slapd!, h);
  });
  afterEach(async () => {
    await h?.close();
  });
}
