/** The deployment examples in config/deploy stay true to the CLI and the config schema. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'config', 'deploy');

it("the Kubernetes example's org.yaml is a valid config for serve", () => {
  const docs = parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const map = docs.find((d) => d['kind'] === 'ConfigMap')!;
  const deployment = docs.find((d) => d['kind'] === 'Deployment')!;
  expect(deployment['spec']['template']['spec']['containers'][0]['args']).toEqual(['serve', '--config', '/etc/scim-sync/org.yaml']);
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-deploy-'));
  try {
    writeFileSync(join(dir, 'org.yaml'), map['data']['org.yaml']);
    const loaded = loadConfig(join(dir, 'org.yaml'), { LDAP_PASSWORD: 'ldap-secret-0123', SLACK_SCIM_TOKEN: 'slack-secret-0123' });
    expect(loaded.config.serve.listen).toBe('0.0.0.0:8080');
    expect(loaded.config.source.type).toBe('ldap');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('the systemd unit starts serve and stops it with SIGTERM', () => {
  const unit = readFileSync(join(DEPLOY, 'scim-sync.service'), 'utf8');
  expect(unit).toMatch(/^ExecStart=.*scim-sync serve --config \S+$/m);
  expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
});
