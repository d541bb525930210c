/**
 * One LDAP read in a fresh process, as cron starts one: load org.yaml, make the source, read it,
 * print what was read, exit. The LDAP bench times this process from spawn to exit.
 * `node .bench-dist/test/bench/ldap-cold-read.js org.yaml`
 */
import { loadConfig } from '../../src/config/load.js';
import { createSource } from '../../src/sources/create-source.js';

const { config } = loadConfig(process.argv[2]!);
const snapshot = await createSource(config.source).read();
process.stdout.write(`${JSON.stringify({ users: snapshot.users.length, groups: snapshot.groups.length })}\n`);
