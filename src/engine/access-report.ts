/**
 * The I/O around the access report (reporting/access-report.ts): read the source, each target's
 * users and groups, the links and the provisioning log, and nothing is written. The log is read as
 * `scim-sync log` reads it (audit/read-log.ts): its rotated files and, with `{host}` in
 * `audit.file`, every host's file.
 */
import { LogReader } from '../audit/read-log.js';
import type { LoadedConfig } from '../config/load.js';
import { selectTargets } from '../config/select-targets.js';
import { describeError } from '../errors.js';
import { createTargetRuntime } from '../execution/target-runtime.js';
import { compileScope } from '../mapping/scope.js';
import { expressionOptions } from '../mapping/expression-options.js';
import type { ServerResource } from '../model/scim.js';
import { accessReport, type AccessReport, type TargetListing } from '../reporting/access-report.js';
import { createSource } from '../sources/create-source.js';
import type { LinkStore } from '../state/link-store.js';

/**
 * Groups with their members: a server that leaves members out of the listing gets a GET per group,
 * and one that returns them nowhere (AWS) is asked about every listed account, as the report is
 * about every account, not only those scim-sync manages. A costly read, made only when asked.
 */
async function groupsWithMembers(runtime: ReturnType<typeof createTargetRuntime>, pageSize: number | undefined, accounts: readonly ServerResource[]): Promise<ServerResource[]> {
  const groups = await runtime.client.listAll('Groups', { pageSize });
  const everyone = accounts.map((a) => a.id);
  const out: ServerResource[] = [];
  for (const g of groups) out.push(await runtime.client.withMembers(g, everyone));
  return out;
}

export async function makeAccessReport(loaded: LoadedConfig, links: LinkStore, only?: readonly string[]): Promise<AccessReport> {
  const targets = selectTargets(loaded, only);
  const snapshot = await createSource(loaded.config.source).read();
  const listings: TargetListing[] = [];
  for (const [name, config] of targets) {
    const inScope = compileScope(config.scope, expressionOptions(loaded.config));
    const runtime = createTargetRuntime(name, config);
    try {
      await runtime.client.discover();
      const accounts = await runtime.client.listAll('Users', { pageSize: config.pageSize });
      let groups: ServerResource[] | null = null;
      let groupsError: string | undefined;
      try {
        groups = await groupsWithMembers(runtime, config.pageSize, accounts);
      } catch (error) {
        groupsError = describeError(error);
      }
      listings.push({ target: name, inScope, accounts, groups, ...(groupsError ? { groupsError } : {}), links: await links.snapshot(name, 'user') });
    } catch (error) {
      listings.push({ target: name, error: describeError(error), inScope, accounts: [], groups: null, links: new Map() });
    }
  }
  // Only deprovisions are reported from the log (reporting/access-report.ts): the rest is not kept.
  const { records, unreadable } = await new LogReader(loaded.auditFile).read((r) => r.action === 'deprovisionUser');
  const report = accessReport(snapshot, listings, records, new Date());
  if (unreadable > 0) for (const t of report.targets) t.notes.push(`${unreadable} line${unreadable === 1 ? '' : 's'} of the audit log could not be read`);
  return report;
}
