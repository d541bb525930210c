/** Child process: `scim-sync worker` from the benchmark's own build (argv: config file, worker name). */
import { main } from '../../src/cli/main.js';

const [config, name] = process.argv.slice(2);
process.exitCode = await main(['node', 'scim-sync', 'worker', '--config', config!, '--name', name!]);
