/**
 * LDAP read speed on a realistic directory: 50,000 people (manager DN, displayName or only cn, two
 * or three mails, title, department, phone) and 54 groupOfNames (three large ones of 50,000, 25,000
 * and 6,250 members, one nesting the department groups), loaded offline (slapadd) into a private
 * slapd. The source reads people and groups; OpenLDAP's `ldapsearch` runs the same two searches
 * (bind, base, filter, attributes, page size), its LDIF output discarded.
 *
 * - cold: a fresh `node` process that loads org.yaml, reads the source once and exits, as cron runs
 *   it, timed from spawn to exit; against the two ldapsearch processes, also spawn to exit. Twice:
 *   as tsc wrote the modules, and bundled with a V8 code cache as the installed CLI is loaded
 *   (scripts/bundle.js, bin/load-bundle.js; the cache is made by a first read in its own process).
 * - warm: LdapSource.read() in this process after a first read.
 *
 * Five interleaved rounds (ldapsearch, cold, warm): each round's ratios are paired, which damps a
 * neighbour's load better than comparing the medians of separate runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LdapSource } from '../../src/sources/ldap/ldap-source.js';
import { ldapSettings } from '../../src/sources/ldap/flavor-defaults.js';
import { GROUPS, ldapSourceConfig, PEOPLE, realisticDirectoryLdif } from '../support/ldap-fixtures.js';
import { READER_DN, READER_PASSWORD, SKELETON_LDIF, Slapd } from '../support/slapd.js';
import { median, round2 } from './paired.js';

const ENTRIES = Number(process.env['BENCH_LDAP_ENTRIES'] ?? 50_000);
const PAGE_SIZE = 500;
const ROUNDS = Number(process.env['BENCH_LDAP_ROUNDS'] ?? 5);
/** COLD_NODE_ARGS: node options for the bundled cold read only, e.g. `--cpu-prof --cpu-prof-dir=<dir>` (not allowed in NODE_OPTIONS). */
const coldProfile = process.env['COLD_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
const COLD_READ = new URL('./ldap-cold-read.js', import.meta.url).pathname;
// Plain JS, run from the source tree (.bench-dist/test/bench/ -> the repository).
const BUNDLER = new URL('../../../scripts/bundle.js', import.meta.url).pathname;
const RUN_BUNDLE = new URL('../../../test/bench/run-bundle.mjs', import.meta.url).pathname;

/** Runs a program to its exit; resolves with the milliseconds from spawn to exit and its stdout. */
export function timedProcess(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out.length < 4096 ? (out += d.toString('utf8')) : undefined));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - start;
      if (code === 0) resolve({ ms, out });
      else reject(new Error(`${cmd} exited with ${code}: ${err}`));
    });
  });
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}


export interface LdapBenchResult {
  entries: number;
  groups: number;
  pageSize: number;
  rounds: number;
  /** Medians, ms. */
  ldapsearchMs: number;
  coldMs: number;
  /** The cold read bundled, with its code cache. */
  coldBundledMs: number;
  warmMs: number;
  /** Medians of the per-round ratios to ldapsearch. */
  coldRatio: number;
  coldBundledRatio: number;
  warmRatio: number;
  coldRatios: number[];
  coldBundledRatios: number[];
  warmRatios: number[];
  /** 1-minute load average before and after the timed rounds, and the number of CPUs. */
  load: { before: number; after: number; cpus: number };
}

export async function ldapBench(): Promise<LdapBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-ldap-bench-'));
  const ldif = join(dir, 'directory.ldif');
  writeFileSync(ldif, `${SKELETON_LDIF}\n${realisticDirectoryLdif(ENTRIES)}`);
  const slapd = await Slapd.start({ offlineLdif: ldif, sizeLimit: 500 });
  try {
    const groupsConfig = { base: GROUPS, filter: '(objectClass=groupOfNames)' };
    const config = ldapSourceConfig(slapd.url, { pageSize: PAGE_SIZE, users: { base: PEOPLE }, groups: groupsConfig });
    const settings = ldapSettings(config);
    const users = settings.users;
    const groups = settings.groups!;
    const userAttributes = [users.key.attribute, ...new Set(users.attributes.values()), ...(users.manager ? [users.manager] : [])];
    const groupAttributes = [groups.key.attribute, groups.nameAttribute, ...groups.memberAttributes, ...(groups.memberUidAttribute ? [groups.memberUidAttribute] : [])];
    const common = ['-x', '-LLL', '-H', slapd.url, '-D', READER_DN, '-w', READER_PASSWORD, '-E', `pr=${PAGE_SIZE}/noprompt`];
    const userSearch = [...common, '-b', PEOPLE, users.filter, ...userAttributes];
    const groupSearch = [...common, '-b', GROUPS, groups.filter, ...groupAttributes];
    const ldapsearch = async () => (await timedProcess('ldapsearch', userSearch)).ms + (await timedProcess('ldapsearch', groupSearch)).ms;

    const configFile = join(dir, 'org.yaml');
    writeFileSync(
      configFile,
      `version: 1
source:
  type: ldap
  url: ${slapd.url}
  startTls: false
  bind: { dn: "${READER_DN}", password: "\${env:BENCH_LDAP_PASSWORD}" }
  pageSize: ${PAGE_SIZE}
  users: { base: "${PEOPLE}" }
  groups: { base: "${GROUPS}", filter: "${groupsConfig.filter}" }
targets:
  app:
    url: http://127.0.0.1:9/scim/v2
    auth: { type: bearer, token: unused-token }
`,
    );
    const env = { ...process.env, BENCH_LDAP_PASSWORD: READER_PASSWORD };
    const cold = () => timedProcess(process.execPath, [COLD_READ, configFile], env);
    const bundle = join(dir, 'ldap-cold-read.cjs');
    await timedProcess(process.execPath, [BUNDLER, COLD_READ, bundle, configFile], env);
    const coldBundled = () => timedProcess(process.execPath, [...coldProfile, RUN_BUNDLE, bundle, configFile], env);

    const source = new LdapSource(config);
    const check = await source.read();
    if (check.users.length !== ENTRIES) throw new Error(`bench: the source read ${check.users.length} of ${ENTRIES} people`);
    const coldCheck = JSON.parse((await cold()).out) as { users: number; groups: number };
    if (coldCheck.users !== ENTRIES || coldCheck.groups !== check.groups.length) throw new Error(`bench: the cold read gave ${JSON.stringify(coldCheck)}`);
    const bundledCheck = JSON.parse((await coldBundled()).out) as { users: number; groups: number; cacheRejected: boolean };
    if (bundledCheck.users !== ENTRIES || bundledCheck.groups !== check.groups.length || bundledCheck.cacheRejected) {
      throw new Error(`bench: the bundled cold read gave ${JSON.stringify(bundledCheck)}`);
    }
    await ldapsearch();

    const theirs: number[] = [];
    const colds: number[] = [];
    const bundledColds: number[] = [];
    const warms: number[] = [];
    const before = loadavg()[0]!;
    for (let round = 0; round < ROUNDS; round++) {
      theirs.push(await ldapsearch());
      colds.push((await cold()).ms);
      bundledColds.push((await coldBundled()).ms);
      warms.push(await timed(() => source.read()));
    }
    const after = loadavg()[0]!;
    const coldRatios = colds.map((ms, i) => round2(ms / theirs[i]!));
    const coldBundledRatios = bundledColds.map((ms, i) => round2(ms / theirs[i]!));
    const warmRatios = warms.map((ms, i) => round2(ms / theirs[i]!));
    return {
      entries: ENTRIES,
      groups: check.groups.length,
      pageSize: PAGE_SIZE,
      rounds: ROUNDS,
      ldapsearchMs: Math.round(median(theirs)),
      coldMs: Math.round(median(colds)),
      coldBundledMs: Math.round(median(bundledColds)),
      warmMs: Math.round(median(warms)),
      coldRatio: median(coldRatios),
      coldBundledRatio: median(coldBundledRatios),
      warmRatio: median(warmRatios),
      coldRatios,
      coldBundledRatios,
      warmRatios,
      load: { before: round2(before), after: round2(after), cpus: cpus().length },
    };
  } finally {
    await slapd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
