/**
 * The run lock: exactly one holder when processes start together (also while they all take over
 * the same stale lock), take-over of a lock whose holder is gone (same host: its process; another
 * host: its heartbeat), refusal of a live one with the way to clear it, and `scim-sync unlock`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LockedError } from '../../src/errors.js';
import { processStart, STALE_AFTER_MS } from '../../src/state/holder.js';
import { acquireRunLock } from '../../src/state/run-lock.js';
import { waitUntil } from '../support/distributed.js';
import { Harness, person } from '../support/harness.js';
import { tempDirs } from '../support/temp-dirs.js';
import { pidSpace } from '../support/pid-space.js';

const CONTENDER = fileURLToPath(new URL('../support/lock-contender.ts', import.meta.url));
/** Above the kernel's largest pid (2^22): a process that cannot exist. */
const DEAD_PID = 2 ** 22 + 17;

const tempDir = tempDirs('scim-sync-lock-');
/** This host, boot and PID namespace: where a holder's pid is looked at. */
const here = { host: hostname(), ...pidSpace };

function plantLock(dir: string, holder: { pid: number; host: string; start?: string; pidns?: string; boot?: string }, ageMs = 0): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'run.lock');
  writeFileSync(file, JSON.stringify({ ...holder, since: '2026-01-01T00:00:00.000Z', token: 'planted' }));
  const then = new Date(Date.now() - ageMs);
  utimesSync(file, then, then);
  return file;
}

class Contender {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  /** `wrapper`: a command that runs the contender (unshare ...). */
  constructor(wrapper: string[] = []) {
    const command = [...wrapper, process.execPath, '--import', 'tsx', CONTENDER];
    this.child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.lines.push(l));
  }
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
  stop(): void {
    this.child.kill();
  }
}

describe('processes that start together', () => {
  const contenders: Contender[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 5; i++) contenders.push(new Contender());
    await waitUntil(() => contenders.every((c) => c.lines.includes('ready')), 'the contenders to start', 30_000);
  });
  afterAll(() => {
    for (const c of contenders) c.stop();
  });

  it('exactly one holds the lock in every trial, also when they all take over the same stale lock', async () => {
    for (let trial = 0; trial < 24; trial++) {
      const dir = tempDir();
      // Every other trial they all find a stale lock and race to take it over.
      if (trial % 2 === 1) plantLock(dir, { pid: DEAD_PID, ...here });
      const seen = contenders.map((c) => c.lines.length);
      for (const c of contenders) c.send(`go ${dir}`);
      await waitUntil(() => contenders.every((c, i) => c.lines.length > seen[i]!), `trial ${trial}: every answer`, 20_000, 5);
      const answers = contenders.map((c, i) => c.lines[seen[i]!]);
      expect(answers.filter((a) => a === 'held'), `trial ${trial}: ${answers.join(', ')}`).toHaveLength(1);
      expect(answers.filter((a) => a === 'locked')).toHaveLength(4);
      const holder = contenders[answers.indexOf('held')]!;
      const before = holder.lines.length;
      holder.send('release');
      await waitUntil(() => holder.lines.length > before, `trial ${trial}: the release`, 20_000, 5);
      expect(existsSync(join(dir, 'run.lock'))).toBe(false);
      expect(existsSync(join(dir, 'run.lock.takeover'))).toBe(false);
    }
  });
});

describe('take-over', () => {
  it('of a lock left on this host by a process that is gone', async () => {
    const dir = tempDir();
    plantLock(dir, { pid: DEAD_PID, ...here });
    const lock = await acquireRunLock(dir);
    expect(JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await lock.release();
    expect(existsSync(join(dir, 'run.lock'))).toBe(false);
  });

  it('of a lock from another host whose heartbeat is older than the bound; a fresh one is refused, saying how to clear it', async () => {
    const dir = tempDir();
    plantLock(dir, { pid: 1, host: 'replaced-container' }, STALE_AFTER_MS + 60_000);
    const lock = await acquireRunLock(dir);
    expect(JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();

    plantLock(dir, { pid: 1, host: 'other-host' }, 60_000);
    const error = await acquireRunLock(dir, { config: '/etc/scim-sync/org.yaml' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect((error as Error).message).toBe(
      `another run holds ${join(dir, 'run.lock')} (pid 1 on other-host since 2026-01-01T00:00:00.000Z, last heartbeat 60 s ago): ` +
        'a lock from another host or PID namespace (whose process cannot be looked at from here) is taken over once its heartbeat is older than 10 minutes; if that run is gone, clear it now with: scim-sync unlock --config /etc/scim-sync/org.yaml',
    );
  });

  it("of a lock from this container's previous life: the same hostname and our own pid, under another token", async () => {
    // A container restarted in place keeps its hostname, and its process gets the same pid again.
    const dir = tempDir();
    plantLock(dir, { pid: process.pid, ...here }, 5_000);
    const lock = await acquireRunLock(dir);
    expect(JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8'))).toMatchObject({ pid: process.pid, start: processStart(process.pid) });
    // A lock this process holds is still refused to it.
    expect(await acquireRunLock(dir).catch((e: unknown) => e)).toBeInstanceOf(LockedError);
    await lock.release();
  });

  it('of a lock whose pid runs another process now (its start time differs); never while the holder runs', async () => {
    const dir = tempDir();
    const parent = process.ppid;
    plantLock(dir, { pid: parent, ...here, start: `${Number(processStart(parent)) + 1}` });
    const lock = await acquireRunLock(dir);
    await lock.release();
    plantLock(dir, { pid: parent, ...here, start: processStart(parent)! });
    expect(await acquireRunLock(dir).catch((e: unknown) => e)).toBeInstanceOf(LockedError);
  });

  it('never of a lock whose holder keeps its heartbeat', async () => {
    const dir = tempDir();
    const lock = await acquireRunLock(dir, { heartbeatMs: 20 });
    const file = join(dir, 'run.lock');
    const old = new Date(Date.now() - STALE_AFTER_MS - 60_000);
    utimesSync(file, old, old);
    await waitUntil(() => Date.now() - statSync(file).mtimeMs < 60_000, 'the heartbeat', 10_000, 5);
    await lock.release();
  });
});

describe('a holder with this hostname in another PID namespace (a container with the host\'s name, unshare)', () => {
  // Its pid does not exist here, or is another process: only its heartbeat says whether it runs.
  const UNSHARE = ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'];
  const canUnshare = spawnSync(UNSHARE[0]!, [...UNSHARE.slice(1), 'true'], { timeout: 10_000 }).status === 0;

  it.runIf(canUnshare)('a run in another PID namespace holds the lock: it is refused here while it runs, then taken once released', async () => {
    const dir = tempDir();
    const other = new Contender(UNSHARE);
    try {
      await waitUntil(() => other.lines.includes('ready'), 'the contender to start', 30_000);
      other.send(`go ${dir}`);
      await waitUntil(() => other.lines.length > 1, 'its answer', 20_000, 5);
      expect(other.lines[1]).toBe('held');
      const error = await acquireRunLock(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockedError);
      const holder = JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')) as { host: string; pidns: string; boot: string };
      expect(holder).toMatchObject({ host: hostname(), boot: pidSpace.boot, pidns: expect.stringMatching(/^pid:\[\d+\]$/) });
      expect(holder.pidns).not.toBe(pidSpace.pidns);
      expect((error as Error).message).toContain('on this host (another PID namespace: a container, or unshare) since');
      other.send('release');
      await waitUntil(() => other.lines.includes('released'), 'the release', 20_000, 5);
      await (await acquireRunLock(dir)).release();
    } finally {
      other.stop();
    }
  });

  it('a holder from another PID namespace or boot, or one that recorded neither, is refused while its heartbeat is fresh, taken over once it is stale', async () => {
    const { pidns, boot } = pidSpace;
    const holders = [
      { pid: DEAD_PID, host: hostname(), boot, pidns: 'pid:[4026599999]' },
      { pid: process.ppid, host: hostname(), boot, pidns: 'pid:[4026599999]', start: '1' },
      { pid: DEAD_PID, host: hostname(), boot: '00000000-0000-4000-8000-000000000000', pidns },
      // An earlier version's, which cannot be told from a neighbour's where this system has namespaces.
      ...(pidns ? [{ pid: DEAD_PID, host: hostname() }] : []),
    ];
    for (const holder of holders) {
      const dir = tempDir();
      plantLock(dir, holder, 2 * 60_000);
      expect(await acquireRunLock(dir).catch((e: unknown) => e), JSON.stringify(holder)).toBeInstanceOf(LockedError);
      plantLock(dir, holder, STALE_AFTER_MS + 60_000);
      await (await acquireRunLock(dir)).release();
    }
  });
});

describe('scim-sync unlock and the run', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('a fresh lock from another host: run exits 4 naming unlock; unlock shows and removes it; the run then goes', async () => {
    h = await Harness.start();
    h.writePeople([person(1)]);
    const file = plantLock(join(h.dir, 'state'), { pid: 4242, host: 'old-container' }, 5_000);
    const r = await h.run();
    expect(r.code).toBe(4);
    expect(r.err).toContain(`if that run is gone, clear it now with: scim-sync unlock --config ${h.configFile}`);
    expect(h.sandbox.requests).toEqual([]);
    const u = await h.cli('unlock', '--config', h.configFile);
    expect(u.code, u.err).toBe(0);
    // 5 s old when planted; the run before may take a second on a loaded machine.
    expect(u.out).toMatch(new RegExp(`^Removed ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, held by pid 4242 on old-container since 2026-01-01T00:00:00\\.000Z, last heartbeat [5-9] s ago\\.$`));
    expect(existsSync(file)).toBe(false);
    expect((await h.run()).code).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(1);
    expect((await h.cli('unlock', '--config', h.configFile)).out).toBe(`No run lock in ${join(h.dir, 'state')}.`);
  });

  it('unlock refuses a holder that runs on this host, unless --force', async () => {
    h = await Harness.start();
    // A process that runs on this host: ours would be a previous life of this one (see the take-overs).
    const file = plantLock(join(h.dir, 'state'), { pid: process.ppid, ...here });
    const u = await h.cli('unlock', '--config', h.configFile);
    expect(u.code).toBe(4);
    expect(u.err).toContain(`error: ${file} is held by pid ${process.ppid} on this host`);
    expect(u.err).toContain(`scim-sync unlock --config ${h.configFile} --force`);
    expect(existsSync(file)).toBe(true);
    const forced = await h.cli('unlock', '--config', h.configFile, '--force');
    expect(forced.code).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});
