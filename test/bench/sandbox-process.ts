/**
 * Child process: a sandbox SCIM server on a free port, so server and client each get a core.
 * BENCH_SEED_USERS: start holding that many seeded users (src/sandbox/seed.ts); BENCH_DATA_FILE: keep
 * the data in that file (--data).
 */
import { startSandbox } from '../../src/sandbox/index.js';

const seedUsers = Number(process.env['BENCH_SEED_USERS'] ?? 0);
const dataFile = process.env['BENCH_DATA_FILE'];
const sandbox = await startSandbox({ token: process.env['BENCH_TOKEN'] ?? null, ...(seedUsers > 0 ? { seedUsers } : {}), ...(dataFile ? { dataFile } : {}) });
process.stdout.write(`${sandbox.url}\n`);
process.on('SIGTERM', () => {
  void sandbox.close().then(() => process.exit(0));
});
