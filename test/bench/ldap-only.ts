/**
 * Only the LDAP read benchmark, for working on it (`npm run bench` runs everything):
 * `npx tsc -p tsconfig.bench.json && node .bench-dist/test/bench/ldap-only.js`. For working on the
 * cold read: `BENCH_LDAP_ROUNDS=3 COLD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` profiles each
 * bundled cold process (see ldap-bench.ts).
 */
import { ldapBench } from './ldap-bench.js';

console.log(await ldapBench());
