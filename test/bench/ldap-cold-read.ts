/**
 * One LDAP read in a fresh process, as cron starts one: load org.yaml, make the source, read it,
 * print what was read, exit. The LDAP bench times this process from spawn to exit, as tsc wrote it
 * (`node .bench-dist/test/bench/ldap-cold-read.js org.yaml`) and bundled with its code cache the way
 * the installed CLI is loaded (run-bundle.mjs, made by scripts/bundle.js).
 */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { createSource } from '../../src/sources/create-source.js';

export async function run(configFile: string): Promise<{ users: number; groups: number }> {
  const { config } = loadConfig(configFile);
  const snapshot = await createSource(config.source).read();
  return { users: snapshot.users.length, groups: snapshot.groups.length };
}

// Run as a script (a bundle has no top-level await, and is started by run-bundle.mjs instead).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void run(process.argv[2]!).then((read) => process.stdout.write(`${JSON.stringify(read)}\n`));
}
