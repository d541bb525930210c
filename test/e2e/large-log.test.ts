/**
 * `scim-sync log` over a provisioning log larger than the process's heap (the default retention
 * keeps up to a gigabyte): the query holds its matches, not the log, so it answers where reading
 * the whole log at once ran out of memory.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../support/cli-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scim-sync-large-log-'));
  mkdirSync(join(dir, 'state'));
  writeFileSync(join(dir, 'people.csv'), 'id,email\n');
  writeFileSync(
    join(dir, 'org.yaml'),
    'version: 1\nstate: { dir: state }\nsource: { type: csv, path: people.csv, key: id }\n' +
      'targets:\n  app:\n    url: http://127.0.0.1:9/scim/v2\n    auth: { type: bearer, token: "${env:LARGE_LOG_TOKEN}" }\n',
  );
  // 250,000 records, about 67 MB: more than the 64 MB of heap the command is given below.
  const out = openSync(join(dir, 'state', 'audit.jsonl'), 'w');
  for (let i = 0; i < 250_000; i += 1000) {
    const lines: string[] = [];
    for (let k = i; k < i + 1000; k++) {
      lines.push(
        JSON.stringify({
          time: new Date(Date.UTC(2026, 10, 1) + k * 1000).toISOString(), planId: `plan-${Math.floor(k / 100)}`, cycleId: `plan-${Math.floor(k / 100)}`,
          target: 'app', action: 'updateUser', externalId: k % 5000 === 7 ? 'ada' : `E${k}`, label: `person${k}@example.com`, outcome: 'ok',
          modifiedProperties: [{ path: 'title', from: 'Engineer', to: 'Senior Engineer' }],
        }),
      );
    }
    writeSync(out, `${lines.join('\n')}\n`);
  }
  closeSync(out);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scim-sync log over a large log', () => {
  it('answers a query for one person within a heap smaller than the log', async () => {
    const child = spawn(process.execPath, ['--max-old-space-size=64', BIN, 'log', '--config', join(dir, 'org.yaml'), '--user', 'ada', '--json'], {
      env: { ...process.env, LARGE_LOG_TOKEN: 'large-log-token-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString().slice(0, 2000)));
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    expect({ code, err: err.slice(0, 300) }).toEqual({ code: 0, err: '' });
    const records = out.trim().split('\n').map((line) => JSON.parse(line) as { externalId: string; label: string });
    expect(records).toHaveLength(50);
    expect(records.every((r) => r.externalId === 'ada')).toBe(true);
    expect(records.map((r) => r.label)).toEqual(Array.from({ length: 50 }, (_, k) => `person${k * 5000 + 7}@example.com`));
  }, 60_000);
});
