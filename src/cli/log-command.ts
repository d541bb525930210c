/**
 * `scim-sync log`: the provisioning log, queried. Every file of it (rotated ones, one per host),
 * oldest record first; a table on a terminal, one JSON line per record with `--json`; `--follow`
 * prints records as they are appended until the operator stops it.
 */
import { setTimeout as wait } from 'node:timers/promises';
import type { AuditRecord } from '../audit/audit-sink.js';
import { matchesQuery, type LogQuery } from '../audit/log-query.js';
import { LogReader } from '../audit/read-log.js';
import { clip } from '../model/printable.js';
import { load } from './load-config.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './io.js';

export interface LogOptions extends Omit<LogQuery, 'targets' | 'actions' | 'statuses'> {
  config: string;
  target?: string[];
  action?: string[];
  status?: string[];
  json?: boolean;
  follow?: boolean;
}

/** How often `--follow` looks for new records. */
const FOLLOW_POLL_MS = 250;

/** Column widths of the table: time, target, action, status, person; the detail takes the rest. */
const WIDTHS = [19, 12, 17, 9, 28] as const;

/** `text` made safe for a terminal and cut to `width` characters. */
function cell(text: string, width: number): string {
  const safe = clip(text, width);
  return (safe.length > width ? `${safe.slice(0, width - 1)}…` : safe).padEnd(width);
}

const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? 'null');

/** What happened beyond the action: the changes, the server's answer, or why nothing was done. */
function detail(r: AuditRecord): string {
  const parts: string[] = [];
  if (r.modifiedProperties?.length) parts.push(r.modifiedProperties.map((c) => `${c.path}: ${value(c.from)} → ${value(c.to)}`).join('; '));
  if (r.error) parts.push(`${r.status !== undefined ? `HTTP ${r.status} ` : ''}${r.error.code}: ${r.error.message}`);
  if (r.note) parts.push(r.note);
  if (r.attempts !== undefined && r.attempts > 1) parts.push(`${r.attempts} attempts`);
  return parts.join('; ');
}

function row(cells: readonly string[], last: string): string {
  return `${cells.map((c, i) => cell(c, WIDTHS[i]!)).join('  ')}  ${clip(last)}`.trimEnd();
}

function tableRow(r: AuditRecord): string {
  const person = r.label && r.externalId ? `${r.label} (${r.externalId})` : (r.label ?? r.externalId ?? '');
  return row([r.time.replace('T', ' ').slice(0, 19), r.target, r.action, r.outcome, person], detail(r));
}

export async function logCommand(opts: LogOptions, io: Io, stop: Promise<void>): Promise<number> {
  const loaded = load(opts.config, io);
  const query: LogQuery = {
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    ...(opts.target ? { targets: opts.target } : {}),
    ...(opts.action ? { actions: opts.action } : {}),
    ...(opts.status ? { statuses: opts.status } : {}),
    ...(opts.cycle !== undefined ? { cycle: opts.cycle } : {}),
    ...(opts.since ? { since: opts.since } : {}),
    ...(opts.until ? { until: opts.until } : {}),
  };
  const reader = new LogReader(loaded.auditFile);
  const print = async (): Promise<number> => {
    const batch = await reader.read((r) => matchesQuery(r, query));
    for (const p of batch.problems) io.err(`warning: ${p}`);
    const shown = batch.records;
    for (const r of shown) io.out(opts.json ? JSON.stringify(r) : tableRow(r));
    return shown.length;
  };
  if (!opts.json) io.out(row(['TIME (UTC)', 'TARGET', 'ACTION', 'STATUS', 'PERSON'], 'DETAIL'));
  const shown = await print();
  if (!opts.follow) {
    if (shown === 0 && !opts.json) io.err(`no record matches (log: ${loaded.auditFile})`);
    return EXIT.OK;
  }
  const ended = stop.then(() => true);
  while (!(await Promise.race([ended, wait(FOLLOW_POLL_MS, false)]))) await print();
  await print();
  return EXIT.OK;
}
