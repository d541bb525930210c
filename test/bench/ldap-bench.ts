/**
 * LDAP read throughput: 50,000 people loaded offline (slapadd) into a private slapd, read by the
 * LDAP source (connect, bind, paged search, mapped to canonical users) and by OpenLDAP's own
 * `ldapsearch` with the same bind, base, filter, attributes and page size, its LDIF output
 * discarded. Five alternating rounds after a warm-up; the medians are compared. A paged loop of
 * ldapts's own search (no mapping) is timed alongside: it is what the source cost before it read
 * the answers with its own decoder.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { LdapSource } from '../../src/sources/ldap/ldap-source.js';
import { ldapSettings } from '../../src/sources/ldap/flavor-defaults.js';
import { bulkPeopleLdif, ldapSourceConfig, PEOPLE } from '../support/ldap-fixtures.js';
import { READER_DN, READER_PASSWORD, SKELETON_LDIF, Slapd } from '../support/slapd.js';

const ENTRIES = Number(process.env['BENCH_LDAP_ENTRIES'] ?? 50_000);
const PAGE_SIZE = 500;
const ROUNDS = 5;

function ldapsearch(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ldapsearch', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ldapsearch exited with ${code}: ${stderr}`))));
  });
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

async function bareLdapts(url: string, filter: string, attributes: string[]): Promise<number> {
  const client = new Client({ url });
  try {
    await client.bind(READER_DN, READER_PASSWORD);
    let count = 0;
    for await (const page of client.searchPaginated(PEOPLE, { scope: 'sub', filter, attributes, paged: { pageSize: PAGE_SIZE } })) count += page.searchEntries.length;
    return count;
  } finally {
    await client.unbind();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export interface LdapBenchResult {
  entries: number;
  pageSize: number;
  sourceMs: number;
  ldapsearchMs: number;
  bareLdaptsMs: number;
  ratio: number;
}

export async function ldapBench(): Promise<LdapBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-ldap-bench-'));
  const ldif = join(dir, 'bulk.ldif');
  writeFileSync(ldif, `${SKELETON_LDIF}\n${bulkPeopleLdif(ENTRIES)}`);
  const slapd = await Slapd.start({ offlineLdif: ldif, sizeLimit: 500 });
  try {
    const config = ldapSourceConfig(slapd.url, { pageSize: PAGE_SIZE, users: { base: PEOPLE } });
    const settings = ldapSettings(config).users;
    const attributes = [settings.key.attribute, ...new Set(settings.attributes.values()), ...(settings.manager ? [settings.manager] : [])];
    const searchArgs = ['-x', '-LLL', '-H', slapd.url, '-D', READER_DN, '-w', READER_PASSWORD, '-E', `pr=${PAGE_SIZE}/noprompt`, '-b', PEOPLE, settings.filter, ...attributes];
    const source = new LdapSource(config);
    const check = await source.read();
    if (check.users.length !== ENTRIES) throw new Error(`bench: the source read ${check.users.length} of ${ENTRIES} people`);
    await ldapsearch(searchArgs);
    const ours: number[] = [];
    const theirs: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      theirs.push(await timed(() => ldapsearch(searchArgs)));
      ours.push(await timed(() => source.read()));
      bare.push(await timed(() => bareLdapts(slapd.url, settings.filter, attributes)));
    }
    const sourceMs = Math.round(median(ours));
    const ldapsearchMs = Math.round(median(theirs));
    return { entries: ENTRIES, pageSize: PAGE_SIZE, sourceMs, ldapsearchMs, bareLdaptsMs: Math.round(median(bare)), ratio: sourceMs / ldapsearchMs };
  } finally {
    await slapd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
