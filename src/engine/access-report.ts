/**
 * The I/O around the access report (reporting/access-report.ts): read the source, each target's
 * users and groups, the links and the audit log, and nothing is written. The audit log may have been
 * rotated: the current file and its rotated siblings (`audit.jsonl.1`, `audit-2026-01-01.jsonl.gz`,
 * ... every `STEM*.jsonl*` next to it) are read.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AuditRecord } from '../audit/audit-sink.js';
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { describeError, StateError } from '../errors.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import { compileScope } from '../mapping/scope.js';
import type { ServerResource } from '../model/scim.js';
import { accessReport, type AccessReport, type TargetListing } from '../reporting/access-report.js';
import { createSource } from '../sources/create-source.js';
import type { LinkStore } from '../state/link-store.js';
import { explainCode } from '../state/state-dir.js';

/** The audit log and its rotated siblings, in no particular order: the report orders records by time. */
async function auditFiles(file: string): Promise<string[]> {
  const dir = dirname(file);
  const stem = basename(file, extname(file));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StateError(`cannot read the audit log's directory ${dir}: ${explainCode(error)}`, {}, { cause: error });
  }
  return names.filter((n) => n.startsWith(stem) && n.includes('.jsonl') && !n.endsWith('.tmp')).map((n) => join(dir, n));
}

/** Every record the audit log holds; lines that are not records are counted, not fatal. */
export async function readAuditRecords(file: string): Promise<{ records: AuditRecord[]; unreadable: number }> {
  const records: AuditRecord[] = [];
  let unreadable = 0;
  for (const path of await auditFiles(file)) {
    let text: string;
    try {
      const bytes = await readFile(path);
      text = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    } catch (error) {
      throw new StateError(`cannot read the audit log ${path}: ${explainCode(error)}`, {}, { cause: error });
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const r = JSON.parse(line) as AuditRecord;
        if (typeof r.time === 'string' && typeof r.target === 'string' && typeof r.action === 'string') records.push(r);
        else unreadable++;
      } catch {
        unreadable++;
      }
    }
  }
  return { records, unreadable };
}

/** Groups with their members: a server that leaves members out of the listing gets a GET per group. */
async function groupsWithMembers(runtime: ReturnType<typeof createTargetRuntime>, pageSize: number): Promise<ServerResource[]> {
  const groups = await runtime.client.listAll('Groups', { pageSize });
  const out: ServerResource[] = [];
  for (const g of groups) out.push('members' in g ? g : await runtime.client.get('Groups', g.id));
  return out;
}

export async function makeAccessReport(loaded: LoadedConfig, links: LinkStore, only?: readonly string[]): Promise<AccessReport> {
  const targets = selectTargets(loaded, only);
  const snapshot = await createSource(loaded.config.source).read();
  const listings: TargetListing[] = [];
  for (const [name, config] of targets) {
    const inScope = compileScope(config.scope);
    const runtime = createTargetRuntime(name, config);
    try {
      await runtime.client.discover();
      const accounts = await runtime.client.listAll('Users', { pageSize: config.pageSize });
      let groups: ServerResource[] | null = null;
      let groupsError: string | undefined;
      try {
        groups = await groupsWithMembers(runtime, config.pageSize);
      } catch (error) {
        groupsError = describeError(error);
      }
      listings.push({ target: name, inScope, accounts, groups, ...(groupsError ? { groupsError } : {}), links: await links.snapshot(name, 'user') });
    } catch (error) {
      listings.push({ target: name, error: describeError(error), inScope, accounts: [], groups: null, links: new Map() });
    }
  }
  const { records, unreadable } = await readAuditRecords(loaded.auditFile);
  const report = accessReport(snapshot, listings, records, new Date());
  if (unreadable > 0) for (const t of report.targets) t.notes.push(`${unreadable} line${unreadable === 1 ? '' : 's'} of the audit log could not be read`);
  return report;
}
