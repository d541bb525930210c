/** The access report as a table (values clipped) or as CSV (every field quoted as RFC 4180 asks). */
import type { AccessReport } from '../reporting/access-report.js';
import { clip } from '../model/printable.js';

const LISTED = 200;

export function formatAccessTable(report: AccessReport): string {
  const out: string[] = [`Access report, ${report.generatedAt} (source: ${clip(report.source)})`];
  const list = <T>(title: string, rows: readonly T[], line: (r: T) => string) => {
    out.push(`  ${title}: ${rows.length}`);
    for (const r of rows.slice(0, LISTED)) out.push(`    ${line(r)}`);
    if (rows.length > LISTED) out.push(`    ... and ${rows.length - LISTED} more (--format csv or json lists every one)`);
  };
  for (const t of report.targets) {
    out.push('', `target ${t.target}`);
    if (t.error) {
      out.push(`  could not be read: ${clip(t.error, 1000)}`);
      continue;
    }
    for (const n of t.notes) out.push(`  note: ${clip(n, 1000)}`);
    list('unmanaged (no link, externalId not in the source)', t.unmanaged, (r) => `${clip(r.userName)}  id ${clip(r.scimId)}${r.externalId ? `  externalId ${clip(r.externalId)}` : ''}  ${r.active ? 'active' : 'inactive'}`);
    list('orphaned (managed, still active, person gone or out of scope)', t.orphaned, (r) => `${clip(r.userName)}  id ${clip(r.scimId)}  source key ${clip(r.sourceKey)}  ${r.reason}`);
    list('deactivated by scim-sync', t.deactivated, (r) => `${clip(r.label)}  ${r.time}  source key ${clip(r.sourceKey)}${r.activeNow === true ? '  (active again now)' : r.activeNow === null ? '  (account gone now)' : ''}`);
    list('access held', t.access, (r) => `${clip(r.userName)}  ${r.kind} ${clip(r.value)}${r.active ? '' : '  (inactive)'}`);
  }
  return out.join('\n');
}

const field = (v: string | boolean | null): string => {
  // Values come from the source and the servers, and this file is opened in spreadsheets: a value
  // that would start a formula (=, +, -, @, a tab or CR) gets a leading apostrophe (OWASP CSV injection).
  const raw = v === null ? '' : String(v);
  const s = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const CSV_COLUMNS = ['target', 'section', 'userName', 'scimId', 'externalId', 'sourceKey', 'active', 'detail', 'time'] as const;

/** One row per finding; a target that could not be read is one `error` row. */
export function formatAccessCsv(report: AccessReport): string {
  const rows: (string | boolean | null)[][] = [[...CSV_COLUMNS]];
  for (const t of report.targets) {
    if (t.error) rows.push([t.target, 'error', null, null, null, null, null, t.error, null]);
    for (const r of t.unmanaged) rows.push([t.target, 'unmanaged', r.userName, r.scimId, r.externalId, null, r.active, null, null]);
    for (const r of t.orphaned) rows.push([t.target, 'orphaned', r.userName, r.scimId, r.externalId, r.sourceKey, r.active, r.reason, null]);
    for (const r of t.deactivated) rows.push([t.target, 'deactivated', r.label, r.scimId, null, r.sourceKey, r.activeNow, null, r.time]);
    for (const r of t.access) rows.push([t.target, 'access', r.userName, r.scimId, null, null, r.active, `${r.kind}:${r.value}`, null]);
  }
  return rows.map((r) => r.map(field).join(',')).join('\r\n');
}
