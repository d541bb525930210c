/** Child process: a sandbox SCIM server on a free port, so server and client each get a core. */
import { startSandbox } from '../../src/sandbox/index.js';

const sandbox = await startSandbox({ token: process.env['BENCH_TOKEN'] ?? null });
process.stdout.write(`${sandbox.url}\n`);
process.on('SIGTERM', () => {
  void sandbox.close().then(() => process.exit(0));
});
