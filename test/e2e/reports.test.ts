/**
 * Reports that tell the truth, over real HTTP: an unknown or disabled `--target` is refused before
 * any request; a target that cannot be read is a failed target (report, totals, audit, `--json`);
 * `--json` prints exactly one JSON document whatever the exit code; an operation that needs an
 * account whose creation failed is skipped because of it, never done and never a second failure.
 */
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, person, type Person } from '../support/harness.js';

let h: Harness;
const people = Array.from({ length: 10 }, (_, i) => person(i + 1));

beforeEach(async () => {
  h = await Harness.start();
  h.writePeople(people);
});
afterEach(async () => {
  await h.close();
});

/** Adds targets (YAML lines indented by 2) to the harness config, before `app`. */
function addTargets(yaml: string): void {
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('targets:\n', `targets:\n${yaml}`));
}

/** A loopback port nothing listens on (taken from the OS, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** stdout must be exactly one JSON document. */
function oneDocument(out: string): Record<string, unknown> {
  return JSON.parse(out) as Record<string, unknown>;
}

describe('--target names a target of the config', () => {
  beforeEach(() => {
    addTargets(`  off:\n    url: ${h.sandbox.url}\n    auth: { type: none }\n    enabled: false\n`);
  });

  it('an unknown name: exit 2 on plan, run and check, naming the file and the targets; no request', async () => {
    for (const command of ['plan', 'run', 'check']) {
      const r = await h.cli(command, '--config', h.configFile, '--target', 'nosuch');
      expect(r.code, `${command}: ${r.err}`).toBe(2);
      expect(r.err).toContain(`no target named nosuch in ${h.configFile} (targets: off, app)`);
    }
    expect(h.sandbox.requests).toEqual([]);
    expect(existsSync(join(h.dir, 'state', 'audit.jsonl'))).toBe(false);
  });

  it('a disabled target is named as such; a known one next to an unknown one still refuses the run', async () => {
    const off = await h.run('--target', 'off');
    expect(off.code).toBe(2);
    expect(off.err).toContain(`target off is disabled in ${h.configFile} (enabled: false)`);
    const mixed = await h.run('--target', 'app', '--target', 'nosuch');
    expect(mixed.code).toBe(2);
    expect(h.sandbox.requests).toEqual([]);
    const ok = await h.run('--target', 'app');
    expect(ok.code, ok.err).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(10);
  });
});
