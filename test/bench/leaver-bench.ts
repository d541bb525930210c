/**
 * Leaver propagation in service mode: from the source change (a CSV replaced by rename, an LDAP
 * modify, a webhook POST) to the deactivation acknowledged by each of 3 sandbox targets, for 50
 * leavers of a 10,000-person source, with `scim-sync serve` running as a process (poll interval
 * 5 s). Leavers come in 10 rounds of 5 at random moments, so changes land at every phase of the
 * poll. Printed next to the time of one full cycle (`scim-sync run`, nothing to change) on the same
 * data: the delay service mode saves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { bulkPeopleLdif, PEOPLE } from '../support/ldap-fixtures.js';
import { READER_DN, READER_PASSWORD, SKELETON_LDIF, Slapd } from '../support/slapd.js';
import { timedProcess } from './ldap-bench.js';

const TOKEN = 'bench-token-0123456789';
const EVENT_KEY = 'bench-event-key-0123456789';
const CLI = new URL('./cli-process.js', import.meta.url).pathname;
const PEOPLE_COUNT = 10_000;
const ROUNDS = 10;
const PER_ROUND = 5;
export const POLL_MS = 5000;

export interface PropagationResult {
  path: 'csv' | 'ldap' | 'webhook';
  leavers: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  fullCycleMs: number;
}

type Change = (keys: readonly string[]) => Promise<void>;

interface Setup {
  dir: string;
  config: string;
  key: (i: number) => string;
  userName: (i: number) => string;
  change: Change;
  /** Told the service's address once it listens (the webhook path posts there). */
  attach?(url: string): void;
  close(): Promise<void>;
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function targetsYaml(sandboxes: readonly Sandbox[]): string {
  return sandboxes.map((s, i) => `  app${i}:\n    url: ${s.url}\n    auth: { type: bearer, token: "\${env:BENCH_SCIM_TOKEN}" }\n    concurrency: 8\n`).join('');
}

function csvSetup(dir: string, sandboxes: readonly Sandbox[], via: 'csv' | 'webhook'): Setup {
  const csv = join(dir, 'people.csv');
  const gone = new Set<string>();
  const write = () => {
    const rows = ['employee_id,first_name,last_name,email,status'];
    for (let i = 0; i < PEOPLE_COUNT; i++) rows.push(`E${i},Given${i},Family${i},user${i}@bench.example,${gone.has(`E${i}`) ? 'terminated' : 'active'}`);
    writeFileSync(`${csv}.tmp`, `${rows.join('\n')}\n`);
    renameSync(`${csv}.tmp`, csv);
  };
  write();
  const config = join(dir, 'org.yaml');
  writeFileSync(
    config,
    `version: 1
state: { dir: state }
serve: { listen: "127.0.0.1:0", pollIntervalMs: ${POLL_MS}, reconcileOnStart: false }
source:
  type: csv
  path: people.csv
  key: employee_id
  columns: { userName: email, email: email, givenName: first_name, familyName: last_name }
  inactive: { column: status, values: [terminated] }
  changes: { enabled: ${via === 'csv'} }
${via === 'webhook' ? 'events:\n  hr: { format: cloudevents, secret: "${env:BENCH_EVENT_KEY}" }\n' : ''}targets:
${targetsYaml(sandboxes)}`,
  );
  let url = '';
  return {
    dir,
    config,
    key: (i) => `E${i}`,
    userName: (i) => `user${i}@bench.example`,
    change: async (keys) => {
      for (const k of keys) gone.add(k);
      write();
      if (via === 'csv') return;
      // The HR system's webhook after its export shows the change: the service re-reads the person.
      for (const key of keys) {
        const body = JSON.stringify({ specversion: '1.0', id: `leave-${key}`, source: 'urn:bench:hr', type: 'employee.terminated', subject: key });
        const t = String(Math.floor(Date.now() / 1000));
        const signature = `t=${t},v1=${createHmac('sha256', EVENT_KEY).update(`${t}.${body}`).digest('hex')}`;
        const res = await fetch(`${url}/events/hr`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-scim-sync-signature': signature } });
        if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
      }
    },
    attach: (serviceUrl) => {
      url = serviceUrl;
    },
    close: async () => undefined,
  };
}

async function ldapSetup(dir: string, sandboxes: readonly Sandbox[]): Promise<Setup> {
  const ldif = join(dir, 'directory.ldif');
  writeFileSync(ldif, `${SKELETON_LDIF}\n${bulkPeopleLdif(PEOPLE_COUNT)}`);
  const slapd = await Slapd.start({ offlineLdif: ldif, sizeLimit: 500 });
  const config = join(dir, 'org.yaml');
  writeFileSync(
    config,
    `version: 1
state: { dir: state }
serve: { listen: "127.0.0.1:0", pollIntervalMs: ${POLL_MS}, reconcileOnStart: false }
source:
  type: ldap
  url: ${slapd.url}
  startTls: false
  bind: { dn: "${READER_DN}", password: "\${env:BENCH_LDAP_PASSWORD}" }
  pageSize: 500
  users:
    base: "${PEOPLE}"
    key: { attribute: employeeNumber, format: string }
    attributes: { userName: mail }
    disabled: { attribute: employeeType, values: [terminated] }
targets:
${targetsYaml(sandboxes)}`,
  );
  const uid = (i: number) => `bulk${String(i).padStart(6, '0')}`;
  return {
    dir,
    config,
    key: (i) => String(100000 + i),
    userName: (i) => `${uid(i)}@example.com`,
    change: async (keys) => {
      await slapd.modify(keys.map((k) => `dn: uid=${uid(Number(k) - 100000)},${PEOPLE}\nchangetype: modify\nadd: employeeType\nemployeeType: terminated\n`).join('\n'));
    },
    close: () => slapd.stop(),
  };
}

function startServe(setup: Setup, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; lines: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--config', setup.config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /serving on (http:\/\/\S+) /.exec(out);
      if (m) resolve({ child, url: m[1]!, lines: () => out });
    });
    // The service's log is on stderr.
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /serving on (http:\/\/\S+) /.exec(err);
      if (m) resolve({ child, url: m[1]!, lines: () => err });
    });
    child.once('close', (code) => reject(new Error(`serve exited ${code}: ${err}\n${out}`)));
  });
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export async function leaverBench(path: PropagationResult['path']): Promise<PropagationResult> {
  const dir = mkdtempSync(join(tmpdir(), `scim-sync-leaver-bench-${path}-`));
  const sandboxes = await Promise.all([0, 1, 2].map(() => startSandbox({ token: TOKEN })));
  const setup = path === 'ldap' ? await ldapSetup(dir, sandboxes) : csvSetup(dir, sandboxes, path);
  const env = { ...process.env, BENCH_SCIM_TOKEN: TOKEN, BENCH_LDAP_PASSWORD: READER_PASSWORD, BENCH_EVENT_KEY: EVENT_KEY };
  let serve: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    for (const s of sandboxes) {
      for (let i = 0; i < PEOPLE_COUNT; i++) s.store.createUser({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: setup.userName(i), externalId: setup.key(i), active: true });
    }
    // The first run links the accounts it finds by externalId and fills in their attributes (all of
    // them at once: past the safety check by design); the second is the full cycle timed.
    await timedProcess(process.execPath, [CLI, 'run', '--config', setup.config, '--override-safety'], env);
    const fullCycleMs = (await timedProcess(process.execPath, [CLI, 'run', '--config', setup.config], env)).ms;
    serve = await startServe(setup, env);
    setup.attach?.(serve.url);
    const lines = serve.lines;
    // The feed's first position (a full reconcile of its own) before the first leaver.
    if (path !== 'webhook') await until(() => /cycle: \S+ applied/.test(lines()), 120_000, 'the feed\'s first full reconcile');
    const latencies: number[] = [];
    let n = 1;
    for (let round = 0; round < ROUNDS; round++) {
      await sleep(Math.random() * POLL_MS);
      const people = Array.from({ length: PER_ROUND }, () => (n += 97) % PEOPLE_COUNT);
      const keys = people.map(setup.key);
      const t0 = performance.now();
      await setup.change(keys);
      const acked = new Map<string, number>();
      await until(
        () => {
          for (const i of people) {
            const key = setup.key(i);
            if (!acked.has(key) && sandboxes.every((s) => s.store.findUserByExternalId(key)?.['active'] === false)) acked.set(key, performance.now() - t0);
          }
          return acked.size === people.length;
        },
        60_000,
        `round ${round}'s leavers to be deactivated everywhere`,
      );
      latencies.push(...acked.values());
    }
    const sorted = latencies.sort((a, b) => a - b);
    return { path, leavers: sorted.length, p50Ms: Math.round(percentile(sorted, 50)), p99Ms: Math.round(percentile(sorted, 99)), maxMs: Math.round(sorted.at(-1)!), fullCycleMs: Math.round(fullCycleMs) };
  } finally {
    if (serve) {
      const closed = new Promise((r) => serve!.child.once('close', r));
      serve.child.kill('SIGTERM');
      await closed;
    }
    await setup.close();
    await Promise.all(sandboxes.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}
