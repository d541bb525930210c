/**
 * Every file scim-sync writes ends 0600, whatever was there before (a file left 0644 by hand or by an
 * older version): a saved plan, the link store and its journal, the audit log, the sandbox's data.
 */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.js';
import { SCHEMA_USER } from '../../src/model/scim.js';
import { Harness, person } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

describe('files scim-sync writes are 0600', () => {
  it('plan --out over an existing 0644 file', async () => {
    h = await Harness.start();
    h.writePeople([person(1)]);
    const out = join(h.dir, 'plan.json');
    writeFileSync(out, 'old plan', { mode: 0o644 });
    chmodSync(out, 0o644);
    const r = await h.cli('plan', '--config', h.configFile, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(mode(out)).toBe('600');
  });

  it('the link store, its journal and the audit log, over existing 0644 files', async () => {
    h = await Harness.start();
    h.writePeople([person(1), person(2)]);
    const state = join(h.dir, 'state');
    mkdirSync(state, { recursive: true });
    for (const name of ['audit.jsonl', 'links.journal']) {
      writeFileSync(join(state, name), '', { mode: 0o644 });
      chmodSync(join(state, name), 0o644);
    }
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(2);
    expect(Object.fromEntries(['audit.jsonl', 'links.journal', 'links.json'].map((n) => [n, mode(join(state, n))]))).toEqual({
      'audit.jsonl': '600',
      'links.journal': '600',
      'links.json': '600',
    });
  });

  it("the sandbox's --data file, over an existing 0644 one", async () => {
    h = await Harness.start();
    const data = join(h.dir, 'sandbox.json');
    const first = await startSandbox({ dataFile: data });
    first.store.createUser({ schemas: [SCHEMA_USER], userName: 'ada@example.com' });
    await first.close();
    expect(mode(data)).toBe('600');
    chmodSync(data, 0o644);
    const second = await startSandbox({ dataFile: data });
    expect(second.store.users()).toHaveLength(1);
    second.store.createUser({ schemas: [SCHEMA_USER], userName: 'grace@example.com' });
    await second.close();
    expect(mode(data)).toBe('600');
  });
});
