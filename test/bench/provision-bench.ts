/**
 * On-demand provisioning of one person out of 100,000: a CSV of 100,000 people, a target already
 * holding the 99,999 others, and `scim-sync provision --user` in a fresh node process, timed from
 * spawn to exit (as an operator runs it). The target is asked for that person only, never listed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox } from '../../src/sandbox/index.js';
import { timedProcess } from './ldap-bench.js';

const TOKEN = 'bench-token-0123456789';
const CLI = new URL('./cli-process.js', import.meta.url).pathname;

export async function provisionBench(people = 100_000): Promise<{ people: number; ms: number; requests: number; created: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-provision-bench-'));
  const sandbox = await startSandbox({ token: TOKEN });
  try {
    const rows = ['employee_id,first_name,last_name,email,department,status'];
    for (let i = 0; i < people; i++) rows.push(`E${i},Given${i},Family${i},user${i}@bench.example,Dept ${i % 20},active`);
    writeFileSync(join(dir, 'people.csv'), `${rows.join('\n')}\n`);
    const key = `E${Math.floor(people / 2)}`;
    for (let i = 0; i < people; i++) {
      if (`E${i}` === key) continue;
      sandbox.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${i}@bench.example`, externalId: `E${i}`, active: true });
    }
    writeFileSync(
      join(dir, 'org.yaml'),
      `version: 1
state: { dir: state }
source:
  type: csv
  path: people.csv
  key: employee_id
  columns: { userName: email, email: email, givenName: first_name, familyName: last_name, department: department }
  inactive: { column: status, values: [terminated] }
targets:
  app:
    url: ${sandbox.url}
    auth: { type: bearer, token: "\${env:BENCH_SCIM_TOKEN}" }
`,
    );
    sandbox.clearRequests();
    const run = await timedProcess(process.execPath, [CLI, 'provision', '--config', join(dir, 'org.yaml'), '--user', key], { ...process.env, BENCH_SCIM_TOKEN: TOKEN });
    return { people, ms: Math.round(run.ms), requests: sandbox.requests.length, created: sandbox.store.findUserByExternalId(key) !== undefined };
  } finally {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
