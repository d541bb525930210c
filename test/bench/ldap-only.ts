/**
 * Only the LDAP read benchmark, for working on it (`npm run bench` runs everything):
 * `npx tsc -p tsconfig.bench.json && node .bench-dist/test/bench/ldap-only.js`.
 */
import { ldapBench } from './ldap-bench.js';

console.log(await ldapBench());
