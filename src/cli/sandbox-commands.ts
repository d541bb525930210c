/** `sandbox` (a local SCIM server to rehearse against) and `demo` (the README's first command). */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIN_SECRET_LENGTH, Secret } from '../config/secret.js';
import { startSandbox, type SandboxBehaviour, type SandboxProfileName } from '../sandbox/index.js';
import { runCommand } from './commands.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './io.js';

export interface SandboxCommandOptions {
  port: number;
  host: string;
  tokenEnv?: string;
  data?: string;
  seedUsers?: number;
  profile?: SandboxProfileName;
  latency?: number;
  errorRate?: number;
  rateLimit?: { requests: number; perMs: number };
  totalResultsOffset?: number;
  repeatPages?: boolean;
  seed?: number;
  bulk?: number;
  urnPathAsKey?: boolean;
  filterPlusAsSpace?: boolean;
  ignoreFilters?: boolean;
  ignoreAttribute?: string[];
  readOnlyAttribute?: string[];
}

export async function sandboxCommand(opts: SandboxCommandOptions, io: Io, stop: Promise<void>): Promise<number> {
  const token = opts.tokenEnv ? process.env[opts.tokenEnv] : undefined;
  if (opts.tokenEnv && !token) {
    io.err(`error: environment variable ${opts.tokenEnv} is not set${token === '' ? ' (it is empty)' : ''}`);
    return EXIT.CONFIG;
  }
  if (token && token.length < MIN_SECRET_LENGTH) {
    io.err(`error: the token in ${opts.tokenEnv} is shorter than ${MIN_SECRET_LENGTH} characters: too short to keep out of output`);
    return EXIT.CONFIG;
  }
  if (token) new Secret(token, `env:${opts.tokenEnv}`);
  const behaviour: Partial<SandboxBehaviour> = {
    ...(opts.latency !== undefined ? { latencyMs: opts.latency } : {}),
    ...(opts.errorRate !== undefined ? { errorRate: opts.errorRate } : {}),
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    ...(opts.totalResultsOffset !== undefined ? { totalResultsOffset: opts.totalResultsOffset } : {}),
    ...(opts.repeatPages ? { repeatFirstPagePastEnd: true } : {}),
    ...(opts.bulk !== undefined ? { bulk: { maxOperations: opts.bulk, maxPayloadSize: 1_048_576 } } : {}),
    ...(opts.urnPathAsKey ? { urnPathAsKey: true } : {}),
    ...(opts.filterPlusAsSpace ? { filterPlusAsSpace: true } : {}),
    ...(opts.ignoreFilters ? { ignoreFilters: true } : {}),
    ...(opts.ignoreAttribute?.length ? { ignoredAttributes: opts.ignoreAttribute } : {}),
    ...(opts.readOnlyAttribute?.length ? { readOnlyAttributes: opts.readOnlyAttribute } : {}),
  };
  const sandbox = await startSandbox({
    host: opts.host,
    port: opts.port,
    token: token ?? null,
    ...(opts.data ? { dataFile: opts.data } : {}),
    ...(opts.profile ? { profile: opts.profile } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.seedUsers ? { seedUsers: opts.seedUsers } : {}),
    behaviour,
    recordRequests: false,
  });
  io.out(`SCIM sandbox listening on ${sandbox.url}${token ? ` (bearer token from $${opts.tokenEnv})` : ' (no auth)'}${opts.profile ? `, acting as ${opts.profile}` : ''}`);
  if (opts.seedUsers) io.out(`Seeded: ${opts.seedUsers} users (user0@seed.example ...); it holds ${sandbox.store.query('User').length}`);
  const faults = Object.keys(behaviour);
  if (faults.length > 0) io.out(`Faults: ${faults.map((k) => `${k}=${JSON.stringify(behaviour[k as keyof SandboxBehaviour])}`).join(', ')}`);
  io.out('Stop it with Ctrl-C.');
  await stop;
  await sandbox.close();
  return EXIT.OK;
}

/** The bundled example: config/example.yaml syncs config/example-people.csv into a fresh sandbox. */
export async function demoCommand(opts: { config?: string }, io: Io): Promise<number> {
  const config = opts.config ?? fileURLToPath(new URL('../../config/example.yaml', import.meta.url));
  const token = new Secret(randomBytes(24).toString('base64url'), 'demo');
  const sandbox = await startSandbox({ token: token.reveal() });
  const stateDir = mkdtempSync(join(tmpdir(), 'scim-sync-demo-'));
  const env = { ...process.env, SCIM_SYNC_DEMO_URL: sandbox.url, SCIM_SYNC_DEMO_TOKEN: token.reveal() };
  try {
    io.out(`Demo: a sandbox SCIM server at ${sandbox.url}, state in ${stateDir}\n`);
    io.out('=== First run: everyone is new ===');
    const first = await runCommand({ config, env, stateDir }, io);
    if (first !== EXIT.OK) return first;
    io.out('\n=== Second run: nothing changed, so nothing is sent ===');
    const writesBefore = sandbox.requests.filter((r) => r.method !== 'GET').length;
    const second = await runCommand({ config, env, stateDir }, io);
    const writes = sandbox.requests.filter((r) => r.method !== 'GET').length - writesBefore;
    io.out(`\nThe sandbox received ${writes} write${writes === 1 ? '' : 's'} on the second run.`);
    io.out(`It now holds ${sandbox.store.users().length} users. Audit log: ${join(stateDir, 'audit.jsonl')}`);
    return second;
  } finally {
    await sandbox.close();
    if (!process.env['SCIM_SYNC_KEEP_DEMO_STATE']) rmSync(stateDir, { recursive: true, force: true });
  }
}
