/**
 * End-to-end harness: a temp folder with an HR CSV and an org.yaml pointing at a real sandbox SCIM
 * server on a free port, and the CLI's main() run in-process with its output captured.
 */
import { planFileText } from '../../src/cli/plan-file.js';
import type { Plan } from '../../src/model/plan.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';

export const TOKEN = 'test-token-5f2c9a8e1b7d';

export interface Person {
  id: string;
  first: string;
  last: string;
  email?: string;
  title?: string;
  department?: string;
  status?: string;
  groups?: string[];
  manager?: string;
}

export function person(n: number, over: Partial<Person> = {}): Person {
  return { id: `E${1000 + n}`, first: `First${n}`, last: `Last${n}`, email: `user${n}@example.com`, title: 'Engineer', department: 'Eng', status: 'active', ...over };
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function peopleCsv(people: readonly Person[]): string {
  const header = 'employee_id,first_name,last_name,email,title,department,status,groups,manager_id';
  const rows = people.map((p) =>
    [p.id, p.first, p.last, p.email ?? '', p.title ?? '', p.department ?? '', p.status ?? 'active', (p.groups ?? []).join(';'), p.manager ?? '']
      .map(csvField)
      .join(','),
  );
  return `${[header, ...rows].join('\n')}\n`;
}

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

export class Harness {
  readonly dir: string;
  readonly csv: string;
  readonly configFile: string;
  sandbox!: Sandbox;
  /** Top-level YAML appended to every config this harness writes (e.g. a `queue:` block). */
  top = '';

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'scim-sync-test-'));
    this.csv = join(this.dir, 'people.csv');
    this.configFile = join(this.dir, 'org.yaml');
  }

  static async start(options: { sandbox?: SandboxOptions; target?: string; safety?: string; top?: string } = {}): Promise<Harness> {
    const h = new Harness();
    h.top = options.top ?? '';
    h.sandbox = await startSandbox({ token: TOKEN, ...options.sandbox });
    h.writeConfig(options.target ?? '', options.safety ?? '');
    return h;
  }

  /** A harness whose target already holds `people`, synced by a first run (which must exit 0); requests cleared. */
  static async synced(people: readonly Person[], options: Parameters<typeof Harness.start>[0] = {}): Promise<Harness> {
    const h = await Harness.start(options);
    h.writePeople(people);
    const first = await h.run();
    if (first.code !== 0) throw new Error(`the first run exited ${first.code}:\n${first.err}\n${first.out}`);
    h.sandbox.clearRequests();
    return h;
  }

  /** `targetExtra`: YAML lines appended to the target (indented by 4). */
  writeConfig(targetExtra = '', safetyExtra = '', sourceExtra = ''): void {
    writeFileSync(
      this.configFile,
      `version: 1
state:
  dir: state
source:
  type: csv
  path: people.csv
  key: employee_id
  columns: { userName: email, email: email, givenName: first_name, familyName: last_name, title: title, department: department }
  inactive: { column: status, values: [terminated] }
  groups: { column: groups, separator: ";" }
  manager: manager_id
${sourceExtra}
safety:
  maxDeactivatePercent: 10
${safetyExtra}
targets:
  app:
    url: ${this.sandbox.url}
    auth: { type: bearer, token: "\${env:TEST_SCIM_TOKEN}" }
    concurrency: 4
${targetExtra}
${this.top}
`,
    );
  }

  writePeople(people: readonly Person[]): void {
    writeFileSync(this.csv, peopleCsv(people));
  }

  async cli(...args: string[]): Promise<RunResult> {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };
    process.env['TEST_SCIM_TOKEN'] = TOKEN;
    const code = await main(['node', 'scim-sync', ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  run(...extra: string[]): Promise<RunResult> {
    return this.cli('run', '--config', this.configFile, ...extra);
  }

  /** The audit log's records (state/audit.jsonl, as the harness config sets it); none when there is no log. */
  audit(): Record<string, unknown>[] {
    const file = join(this.dir, 'state', 'audit.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Requests that change something (everything but GET). */
  writes() {
    return this.sandbox.requests.filter((r) => r.method !== 'GET');
  }

  async close(): Promise<void> {
    await this.sandbox.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A second target on its own sandbox (so the requests it receives, or not, are its own), added to
 * the config the harness wrote last; `tokenEnv` names the variable its token is read from.
 */
export function addTarget(h: Harness, name: string, sandbox: Sandbox, tokenEnv = 'TEST_SCIM_TOKEN'): void {
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace('targets:\n', `targets:\n  ${name}:\n    url: ${sandbox.url}\n    auth: { type: bearer, token: "\${env:${tokenEnv}}" }\n`));
}

/** The userNames of a group's members on a sandbox, sorted; [] when it has none (or no such group). */
export function memberNames(sandbox: Sandbox, group: string): string[] {
  const members = (sandbox.store.findGroupByDisplayName(group)?.['members'] as { value: string }[] | undefined) ?? [];
  return members.map((m) => String(sandbox.store.getUser(m.value)?.['userName'])).sort();
}

/**
 * Drop every operation's precondition from a saved plan file. `apply` then writes without checking
 * the target first, as it does when the target changes between its check and its write: the way to
 * reach the executor's own answers to such a race (409 adopt, 404 re-create, 412 re-apply).
 */
export function withoutPreconditions(file: string): void {
  editPlan(file, (plan) => {
    for (const t of plan.targets) for (const p of t.phases) for (const op of p.operations) delete (op as { pre?: unknown }).pre;
  });
}

/** Edits a saved plan file as a test means to, and gives it the digest of its new content (cli/plan-file.ts). */
export function editPlan(file: string, edit: (plan: Plan) => Plan | void): void {
  const { digest: _digest, ...plan } = JSON.parse(readFileSync(file, 'utf8')) as Plan & { digest?: string };
  writeFileSync(file, planFileText(edit(plan) ?? plan));
}
