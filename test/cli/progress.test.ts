/**
 * The progress of `run`, as an operator sees it: on a terminal (a real pseudo-terminal, util-linux
 * `script`) live rows redrawn in place with done/total and the wait the server asked for; off a
 * terminal a progress line in the log every --progress-every, no escape code anywhere; nothing
 * with --quiet or --json. Against a sandbox that rate-limits, so a Retry-After wait happens.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, CliProcess } from '../support/cli-process.js';
import { Harness, TOKEN, person } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const people = Array.from({ length: 60 }, (_, i) => person(i + 1));

/** 20 requests every 1.5 s, then 429 with Retry-After: about five seconds for 60 creates. */
async function slowTarget(): Promise<Harness> {
  const harness = await Harness.start({ sandbox: { behaviour: { latencyMs: 20, rateLimit: { requests: 20, perMs: 1500 } } } });
  harness.writePeople(people);
  return harness;
}

/** Runs the CLI under a pseudo-terminal: `script` gives it a tty for stdin, stdout and stderr, and copies what it draws. */
function underTerminal(args: string[]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, TEST_SCIM_TOKEN: TOKEN, COLUMNS: '120' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.on('data', (d: Buffer) => (screen += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (screen += d.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, screen })));
}

describe('progress', () => {
  it('on a terminal: rows redrawn in place, apply done/total rising, the Retry-After wait shown, then the report', async () => {
    h = await slowTarget();
    const { code, screen } = await underTerminal(['run', '--config', h.configFile]);
    expect(code, screen).toBe(0);
    // Frames: the row is rewritten in place (cursor to column 1, line cleared), not appended as log lines.
    const frames = [...screen.matchAll(/\x1b\[1G[=-]+ app: applying (\d+)\/60 \(\d+%\), [\d.]+\/s[^\x1b]*\x1b\[0K/g)];
    const done = [...new Set(frames.map((f) => Number(f[1])))];
    expect(done.length, screen).toBeGreaterThanOrEqual(3);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(screen).toMatch(/app: applying \d+\/60 \(\d+%\), [\d.]+\/s(, ETA [^;\x1b]+)?; waiting \d+ s for the server's Retry-After/);
    expect(screen).toMatch(/source: read 60 people/);
    expect(screen).toContain('Total: 60 ok, 0 failed, 0 skipped');
    expect(h.sandbox.store.users()).toHaveLength(60);
  }, 60_000);

  it('off a terminal: a plain progress line in the log every --progress-every, with the cycle and target, and no escape code', async () => {
    h = await slowTarget();
    const run = new CliProcess(['run', '--config', h.configFile, '--progress-every', '250ms']);
    const exit = await run.exited;
    expect(exit.code, exit.err).toBe(0);
    expect(exit.out + exit.err).not.toContain('\x1b');
    const records = exit.err.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const planId = /Applied (plan-\S+)/.exec(exit.out)![1];
    expect(records.every((r) => r['cycle'] === planId)).toBe(true);
    const progress = records.filter((r) => String(r['msg']).startsWith('progress: '));
    expect(progress.length, exit.err).toBeGreaterThanOrEqual(3);
    for (const p of progress) {
      expect(p).toMatchObject({ level: 'info', target: 'app' });
      expect(p['msg']).toMatch(/^progress: app: (listing .*|applying \d+\/60 \(\d+%\), [\d.]+\/s.*)$/);
    }
    // Every few seconds, not every operation.
    const times = progress.map((p) => Date.parse(String(p['time'])));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(200);
    expect(progress.some((p) => /waiting \d+ s for the server's Retry-After/.test(String(p['msg'])))).toBe(true);
  }, 60_000);

  it('none with --quiet or --json', async () => {
    h = await slowTarget();
    const json = await h.run('--json', '--progress-every', '100ms');
    expect(json.code, json.err).toBe(0);
    expect(json.err).not.toContain('progress: ');
    expect(JSON.parse(json.out).report.targets[0].counts.createUser.ok).toBe(60);
    await h.close();
    h = await slowTarget();
    const quiet = await h.run('--quiet', '--progress-every', '100ms');
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).toBe('');
    expect(h.sandbox.store.users()).toHaveLength(60);
  }, 60_000);
});
