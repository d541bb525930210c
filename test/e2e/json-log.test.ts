/**
 * Off a terminal (cron, a service manager) a command's log on stderr is JSON, one record a line,
 * for a log shipper to parse: every warning joins it as a record at level warn, never as a plain
 * line in the stream.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { Harness, person, TOKEN } from '../support/harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

it('the config\'s warnings are records of the JSON log, not plain lines in it', async () => {
  h = await Harness.start();
  h.writePeople(Array.from({ length: 3 }, (_, i) => person(i + 1)));
  // A credential written inline is one of the config's warnings.
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('token: "${env:TEST_SCIM_TOKEN}"', `token: "${TOKEN}"`));
  for (const command of ['plan', 'run']) {
    const r = await h.cli(command, '--config', h.configFile);
    expect(r.code, r.err).toBe(0);
    const lines = r.err.split('\n').filter((l) => l !== '');
    for (const line of lines) expect(() => JSON.parse(line), `${command}: ${line}`).not.toThrow();
    const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l['msg']).includes('credential written inline'));
    expect(warning, command).toMatchObject({ level: 'warn', msg: 'targets.app.auth.token: credential written inline; prefer ${env:NAME} or ${file:path}' });
    expect(r.err + r.out).not.toContain(TOKEN);
  }
});
