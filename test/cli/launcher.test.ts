/**
 * bin/scim-sync.js loads the CLI from its bundle with the code cache the build wrote beside it
 * (bin/load-bundle.js). The cache is only a shortcut: one V8 rejects (another Node, other flags, a
 * damaged file) or a missing one leaves the CLI working, and without a bundle the launcher imports
 * tsc's output; so it does in a checkout where tsc rebuilt dist/ after the bundle was made. Each case
 * runs in a fresh process, as V8 judges a cache by the process's flags.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../support/temp-dirs.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tempDir = tempDirs('scim-sync-launcher-');

/** What a dist/cli/main.js of tsc's own prints when it runs in place of the bundle. */
const TSC_MARKER = 'tsc output ran';

/**
 * The package as installed: bin/, package.json and dist/ (tsc's output linked, the bundle copied
 * unless `bundle: false`). `tscMain`: dist/cli/main.js is one that prints TSC_MARKER, its mtime
 * `newer` or older than the bundle's; `checkout`: with tsconfig.build.json, as a working copy has it.
 */
function installed(options: { bundle: boolean; tscMain?: { newer: boolean }; checkout?: boolean }): string {
  const dir = tempDir();
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  if (options.checkout) copyFileSync(join(ROOT, 'tsconfig.build.json'), join(dir, 'tsconfig.build.json'));
  mkdirSync(join(dir, 'dist'));
  for (const name of readdirSync(join(ROOT, 'dist'))) {
    if (name !== 'bundle' && !(name === 'cli' && options.tscMain)) symlinkSync(join(ROOT, 'dist', name), join(dir, 'dist', name));
  }
  if (options.bundle) cpSync(join(ROOT, 'dist', 'bundle'), join(dir, 'dist', 'bundle'), { recursive: true });
  if (options.tscMain) {
    mkdirSync(join(dir, 'dist', 'cli'));
    const main = join(dir, 'dist', 'cli', 'main.js');
    writeFileSync(main, `export async function main() { console.log(${JSON.stringify(TSC_MARKER)}); return 0; }\n`);
    const built = statSync(join(dir, 'dist', 'bundle', 'cli.cjs')).mtimeMs / 1000 + (options.tscMain.newer ? 2 : -2);
    utimesSync(main, built, built);
  }
  return dir;
}

/** Whether V8 took the bundle's cache, asked of a fresh process loading the package in `dir`. */
async function cacheRejected(dir: string): Promise<boolean> {
  const probe = `import { loadBundle } from ${JSON.stringify(join(dir, 'bin', 'load-bundle.js'))}; console.log(JSON.stringify(loadBundle().cacheRejected));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { timeout: 20_000 });
  return JSON.parse(stdout) as boolean;
}

const version = async (dir: string) => (await run(process.execPath, [join(dir, 'bin', 'scim-sync.js'), '--version'], { timeout: 20_000 })).stdout.trim();

describe('the launcher', () => {
  it('runs the bundle with the code cache the build wrote, accepted by the Node that built it', async () => {
    const dir = installed({ bundle: true });
    expect(await cacheRejected(dir)).toBe(false);
    expect(await version(dir)).toBe('0.1.0');
  });

  it('a damaged cache is rejected and the bundle still runs; so it does with no cache', async () => {
    const dir = installed({ bundle: true });
    writeFileSync(join(dir, 'dist', 'bundle', 'cli.cjs.cache'), Buffer.alloc(4096, 7));
    expect(await cacheRejected(dir)).toBe(true);
    expect(await version(dir)).toBe('0.1.0');
    writeFileSync(join(dir, 'dist', 'bundle', 'cli.cjs.cache'), '');
    expect(await version(dir)).toBe('0.1.0');
  });

  it('in a checkout where tsc rebuilt dist/ after the bundle was made, runs what tsc wrote, not the stale bundle', async () => {
    expect(await version(installed({ bundle: true, checkout: true, tscMain: { newer: true } }))).toBe(TSC_MARKER);
    expect(await version(installed({ bundle: true, checkout: true, tscMain: { newer: false } }))).toBe('0.1.0');
  });

  it('installed, where npm gave main.js a later mtime than the bundle (extracted after it), still runs the bundle', async () => {
    expect(await version(installed({ bundle: true, tscMain: { newer: true } }))).toBe('0.1.0');
  });

  it('without a bundle, imports the CLI as tsc wrote it', async () => {
    const dir = installed({ bundle: false });
    expect(await version(dir)).toBe('0.1.0');
    const { stdout } = await run(process.execPath, [join(dir, 'bin', 'scim-sync.js'), 'validate', '--config', join(ROOT, 'config', 'example.yaml')], {
      timeout: 20_000,
      env: { ...process.env, SCIM_SYNC_DEMO_URL: 'http://127.0.0.1:9/scim/v2', SCIM_SYNC_DEMO_TOKEN: 'launcher-test-token-123' },
    });
    expect(stdout.trim()).toBe(`${join(ROOT, 'config', 'example.yaml')}: valid (source csv, 1 target: demo-app)`);
  });

  it('a reader gone before the output (a pager quit, `| head`) is no crash: the command finishes with its own exit code', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'scim-sync.js'), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The read end closed before the child writes: each write of its meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled 'error'/);
    expect(code).toBe(0);
  });
});
