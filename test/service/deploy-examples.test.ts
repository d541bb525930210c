/** The deployment examples in config/deploy stay true to the CLI and the config schema. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import cronParser from 'cron-parser';
import { main } from '../../src/cli/main.js';
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

/** A systemd unit's `Key=value` lines, repeated keys kept in order. */
function unit(name: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const line of readFileSync(join(DEPLOY, name), 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  return keys;
}

/** The help of a command, for checking that the examples use options it has. */
async function helpOf(command: string): Promise<string> {
  const out: string[] = [];
  await main(['node', 'scim-sync', command, '--help'], { out: (t) => out.push(t), err: (t) => out.push(t) });
  return out.join('\n');
}

/** Every `--option` in `args` is one the command knows. */
async function expectKnownOptions(command: string, args: readonly string[]): Promise<void> {
  const help = await helpOf(command);
  for (const option of args.filter((a) => a.startsWith('--'))) expect(help, `${command} ${option}`).toContain(`${option} `);
}

function manifests(name: string): Record<string, any>[] {
  return parseAllDocuments(readFileSync(join(DEPLOY, name), 'utf8')).map((d) => d.toJS() as Record<string, any>);
}

/** The ConfigMap's org.yaml, loaded as the pods would (with their Secret's variables). */
function configOf(docs: Record<string, any>[], env: NodeJS.ProcessEnv) {
  const map = docs.find((d) => d['kind'] === 'ConfigMap')!;
  const dir = mkdtempSync(join(tmpdir(), 'scim-sync-deploy-'));
  try {
    writeFileSync(join(dir, 'org.yaml'), map['data']['org.yaml']);
    return loadConfig(join(dir, 'org.yaml'), env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SECRETS = { LDAP_PASSWORD: 'ldap-secret-0123', SLACK_SCIM_TOKEN: 'slack-secret-0123', REDIS_URL: 'redis://redis:6379' };

it('the crontab line runs `run` from the installed binary on a valid schedule, as a user, with options run has', async () => {
  const lines = readFileSync(join(DEPLOY, 'scim-sync.cron'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#') && !/^[A-Z]+=/.test(l));
  expect(lines).toHaveLength(1);
  const fields = lines[0]!.split(/\s+/);
  expect(() => cronParser.parseExpression(fields.slice(0, 5).join(' '))).not.toThrow();
  expect(fields[5]).toBe('scim-sync');
  expect(fields.slice(6, 9)).toEqual(['/usr/local/bin/scim-sync', 'run', '--config']);
  await expectKnownOptions('run', fields.slice(7));
});

it('the systemd service and timer for `run`: a oneshot, hardened, credentials by LoadCredential, started by the timer', async () => {
  const service = unit('scim-sync-run.service');
  expect(service.get('Type')).toEqual(['oneshot']);
  expect(service.get('ExecStart')![0]).toMatch(/^\/usr\/local\/bin\/scim-sync run --config \/etc\/scim-sync\/org\.yaml$/);
  expect(service.get('DynamicUser')).toEqual(['yes']);
  expect(service.get('ProtectSystem')).toEqual(['strict']);
  expect(service.get('StateDirectory')).toEqual(['scim-sync']);
  const credentials = service.get('LoadCredential')!.map((c) => c.split(':')[0]);
  expect(credentials).toEqual(['slack-token', 'ldap-password']);
  // Every credential the comments tell org.yaml to use is one the unit loads.
  const text = readFileSync(join(DEPLOY, 'scim-sync-run.service'), 'utf8');
  for (const [, name] of text.matchAll(/\$\{file:\/run\/credentials\/scim-sync-run\.service\/([a-z-]+)\}/g)) expect(credentials).toContain(name);
  const timer = unit('scim-sync-run.timer');
  expect(timer.get('Unit')).toEqual(['scim-sync-run.service']);
  expect(timer.get('OnCalendar')).toEqual(['*:0/30']);
  expect(timer.get('WantedBy')).toEqual(['timers.target']);
});

it('the Kubernetes CronJob runs one cycle at a time on a valid config', async () => {
  const docs = manifests('kubernetes-cronjob.yaml');
  const job = docs.find((d) => d['kind'] === 'CronJob')!;
  expect(job['spec']['concurrencyPolicy']).toBe('Forbid');
  expect(() => cronParser.parseExpression(job['spec']['schedule'])).not.toThrow();
  const pod = job['spec']['jobTemplate']['spec']['template']['spec'];
  expect(pod['restartPolicy']).toBe('Never');
  expect(pod['containers'][0]['args']).toEqual(['run', '--config', '/etc/scim-sync/org.yaml']);
  const loaded = configOf(docs, SECRETS);
  expect(loaded.config.queue).toBeUndefined();
  expect(pod['containers'][0]['volumeMounts']).toContainEqual({ name: 'state', mountPath: loaded.stateDir });
});

it('the Kubernetes worker and schedule Deployments: distributed config, metrics on a port the pod exposes', async () => {
  const docs = manifests('kubernetes-workers.yaml');
  const loaded = configOf(docs, SECRETS);
  expect(loaded.config.queue?.prefix).toBe('scim-sync');
  expect(loaded.config.schedule?.cron).toBe('*/30 * * * *');
  for (const [name, command] of [['scim-sync-worker', 'worker'], ['scim-sync-schedule', 'schedule']] as const) {
    const deployment = docs.find((d) => d['kind'] === 'Deployment' && d['metadata']['name'] === name)!;
    const container = deployment['spec']['template']['spec']['containers'][0];
    const args = container['args'] as string[];
    expect(args.slice(0, 3)).toEqual([command, '--config', '/etc/scim-sync/org.yaml']);
    await expectKnownOptions(command, args);
    const port = Number(args[args.indexOf('--metrics-port') + 1]);
    expect(container['ports']).toContainEqual({ name: 'metrics', containerPort: port });
    expect(args[args.indexOf('--metrics-host') + 1]).toBe('0.0.0.0');
    expect(deployment['spec']['template']['metadata']['annotations']['prometheus.io/port']).toBe(String(port));
  }
});

const ROOT = join(DEPLOY, '..', '..');

it('the Dockerfile: Node 20 slim, the packed tarball installed globally, a non-root user, the state directory a volume', () => {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const from = lines.filter((l) => l.startsWith('FROM '));
  expect(from.map((l) => l.split(/\s+/)[1])).toEqual(['node:20-slim', 'node:20-slim']);
  const runtime = lines.slice(lines.indexOf(from[1]!));
  expect(runtime.some((l) => /^RUN npm install -g .*\/tmp\/scim-sync-\*\.tgz/.test(l))).toBe(true);
  const user = runtime.find((l) => l.startsWith('USER '))!.split(/\s+/)[1]!;
  expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  expect(runtime).toContain('VOLUME ["/var/lib/scim-sync"]');
  expect(runtime).toContain('ENTRYPOINT ["scim-sync"]');
  // The state directory is made for that user before it is a volume (a volume starts with its content and owner).
  expect(runtime.findIndex((l) => l.includes('chown scim-sync:scim-sync /var/lib/scim-sync'))).toBeLessThan(runtime.indexOf('VOLUME ["/var/lib/scim-sync"]'));
});

it('docker-compose: Redis with persistence, workers and the scheduler on a valid distributed config', async () => {
  const compose = parseAllDocuments(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'))[0]!.toJS() as Record<string, any>;
  const services = compose['services'] as Record<string, any>;
  expect(Object.keys(services).sort()).toEqual(['redis', 'schedule', 'worker']);
  expect(services['redis']['command']).toEqual(['redis-server', '--appendonly', 'yes']);
  const loaded = loadConfig(join(DEPLOY, 'compose.org.yaml'), { SLACK_SCIM_TOKEN: 'slack-secret-0123' });
  expect(loaded.config.queue?.redis.reveal()).toBe('redis://redis:6379');
  for (const name of ['worker', 'schedule']) {
    const service = services[name];
    const command = service['command'] as string[];
    expect(command.slice(0, 3)).toEqual([name, '--config', '/etc/scim-sync/org.yaml']);
    await expectKnownOptions(name, command);
    expect(service['volumes']).toContain(`scim-sync-state:${loaded.stateDir}`);
    expect(service['volumes']).toContain('./org.yaml:/etc/scim-sync/org.yaml:ro');
  }
  // The scheduler reads the source: its file is where the config says.
  const source = loaded.config.source;
  expect(source.type === 'csv' && source.path.startsWith('/srv/hr/')).toBe(true);
  expect(services['schedule']['volumes']).toContain('./hr:/srv/hr:ro');
});
