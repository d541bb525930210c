/**
 * Writes audit records through the sink, for the tests of a log that stops taking them (run under
 * `ulimit -f`: a write past the limit is cut short, then fails with EFBIG). Arguments: the log, the
 * spill base, how many records. Prints one JSON line: the close's error and the lines printed as
 * unwritten. Run with `node --import tsx`.
 */
import { JsonlAuditSink } from '../../src/audit/jsonl-audit-sink.js';

const [file, spillBase, count] = process.argv.slice(2) as [string, string, string];
const printed: string[] = [];
const sink = new JsonlAuditSink(file, { spillBase, printUnwritten: (line) => printed.push(line) });
for (let i = 1; i <= Number(count); i++) {
  sink.record({ time: new Date(Date.UTC(2026, 11, 1, 4, 0, i)).toISOString(), planId: 'plan-full', target: 'app', action: 'createUser', externalId: `B${String(i).padStart(4, '0')}`, outcome: 'ok' });
}
let error: string | null = null;
await sink.close().catch((e: unknown) => (error = (e as Error).message));
console.log(JSON.stringify({ error, printed }));
