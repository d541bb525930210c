/** `scim-sync check`: test the connection to each target and say what will and will not work. */
import { randomUUID } from 'node:crypto';
import { JsonlAuditSink } from '../audit/jsonl-audit-sink.js';
import { describeError } from '../errors.js';
import { cliInitiator } from '../engine/operator.js';
import { haltOnFailure } from '../engine/run-state.js';
import { load } from './load-config.js';
import { checkTarget, type TargetCheck } from '../engine/check-target.js';
import { userMapping } from '../engine/make-plan.js';
import { expressionOptions } from '../mapping/expression-options.js';
import { createSource } from '../sources/create-source.js';
import { selectTargets } from '../config/select-targets.js';
import { clip } from '../model/printable.js';
import { EXIT } from './exit-codes.js';
import { interruptedExit } from './interrupt.js';
import type { Io } from './io.js';

const MARK = { ok: '✓', info: '·', warning: '!' } as const;

/**
 * Findings and failures quote the server (a userName read, an error's detail), which may hold an
 * escape that clears the screen or forges a "✓": every such line goes through `clip`, long enough
 * for our own words around the value. `--json` keeps them whole, as data.
 */
const shown = (text: string) => clip(text, 1000);

export function formatCheck(c: TargetCheck): string {
  const out = [`Target ${c.target} (${c.url}, profile ${c.profile}${c.proxy ? `, via proxy ${c.proxy}` : ''})`];
  if (c.failure) {
    out.push(`  ✗ ${c.failure.auth ? 'credential refused' : 'not usable'}: ${shown(c.failure.message)}`);
    if (c.failure.auth) out.push(`    check targets.${c.target}.auth`);
    return out.join('\n');
  }
  const caps = c.capabilities;
  if (caps) {
    const yes = (b: boolean) => (b ? 'yes' : 'no');
    out.push(
      `  server: patch ${yes(caps.patch)}, filter ${yes(caps.filter.supported)}${caps.filter.maxResults ? ` (maxResults ${caps.filter.maxResults})` : ''}, ` +
        `etag ${yes(caps.etag)}, sort ${yes(caps.sort)}, bulk ${yes(caps.bulk.supported)}${caps.discovered ? '' : ' (assumed: no ServiceProviderConfig)'}`,
    );
  }
  if (c.effective) {
    const e = c.effective;
    out.push(
      `  sync: updates by ${e.updateMethod.toUpperCase()}, pages of ${e.pageSize}, deprovision ${e.deprovision}, If-Match ${e.ifMatch ? 'on' : 'off'}, ` +
        `budget ${e.rateLimit ? `${e.rateLimit.requests}/${e.rateLimit.perMs} ms` : 'unlimited'}`,
    );
  }
  for (const f of c.findings) out.push(`  ${MARK[f.level]} ${shown(f.message)}`);
  if (c.probe) {
    out.push(`  write probe (user ${shown(c.probe.userName)}):`);
    for (const f of c.probe.findings) out.push(`    ${MARK[f.level]} ${shown(f.message)}`);
    const failure = c.probe.failure;
    if (failure) out.push(`    ✗ ${failure.auth ? 'credential refused a write: ' : ''}${shown(failure.message)}`);
    if (failure?.auth) out.push(`      check targets.${c.target}.auth: it may read but not write`);
  }
  return out.join('\n');
}

/**
 * Exit 0 when every target is usable (and its write probe, if asked for, finished and was removed),
 * 2 when a credential is refused (reading, or writing during the probe), 1 when a target is otherwise
 * unusable, or its probe failed or is left in the target, or the provisioning log failed part-way;
 * 4 when the provisioning log cannot be opened or written before the probe's first write (as `run`).
 */
export async function checkCommand(opts: { config: string; target?: string[]; json?: boolean; writeProbe?: boolean; signal?: AbortSignal }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  const targets = selectTargets(loaded, opts.target);
  const expressions = expressionOptions(loaded.config);
  // The rules a plan would use, by the attributes the source offers (a CSV's header; no one is read),
  // checked against what each target's schemas say; without the source, the rules the config writes.
  const offered = await createSource(loaded.config.source)
    .offeredAttributes()
    .catch(() => new Set(['userName']));
  const mappingOf = (name: string, config: (typeof targets)[number][1]) => {
    try {
      return { mapping: userMapping(name, config, offered, expressions) };
    } catch {
      return {}; // a mapping that does not compile with this source is `validate`'s and `plan`'s to report
    }
  };
  // The probe's writes are recorded as a run's are: the log is opened before any target is asked
  // (a log that cannot be, or whose first append fails, stops the check before the first write) and
  // a write that fails later stops each probe as it stops a run, the probe still being removed.
  const halt = haltOnFailure();
  const audit = opts.writeProbe ? new JsonlAuditSink(loaded.auditFile, { settings: loaded.config.audit, initiator: cliInitiator(), onFailure: halt.fail }) : undefined;
  const cycleId = `check-${randomUUID()}`;
  const stop = opts.signal ? AbortSignal.any([opts.signal, halt.signal]) : halt.signal;
  const probing = (name: string) =>
    audit && {
      writeProbe: {
        audit,
        cycleId,
        signal: stop,
        // On stderr before the probe exists: a check killed before it removes the probe leaves this name.
        announce: (userName: string) => io.err(`target ${name}: write probe: creating ${userName} (removed at the end; if check is killed first, remove it by hand)`),
      },
    };
  // The source's own check of the names the config gives (an LDAP directory's schema), beside the targets'.
  const source = createSource(loaded.config.source);
  const names = source.checkNames?.().catch((error: unknown) => ({ unchecked: `could not be asked: ${describeError(error)}` }));
  // Settled, not raced: a log failure thrown by one target's probe waits for the others' to end.
  const settled = await Promise.allSettled(targets.map(([name, config]) => checkTarget(name, config, { ...probing(name), ...mappingOf(name, config) })));
  const sourceNames = await names;
  if (sourceNames && 'unchecked' in sourceNames) io.err(`warning: source ${source.description}: ${sourceNames.unchecked}`);
  const unknownNames = sourceNames && 'problems' in sourceNames ? sourceNames.problems : [];
  if (unknownNames.length > 0) io.err(`error: source ${source.description}: the config names attributes the directory does not define:\n${unknownNames.map((p) => `  - ${p}`).join('\n')}`);
  const auditFailure = await closeAudit(audit, halt.signal);
  const thrown = settled.find((s) => s.status === 'rejected');
  if (thrown) throw thrown.reason;
  const checks = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (opts.json) io.out(JSON.stringify(checks, null, 2));
  else io.out(checks.map(formatCheck).join('\n\n'));
  for (const c of checks) {
    const left = c.probe?.leftBehind;
    if (left) io.err(`error: the write probe is still in target ${c.target}: remove ${shown(left.userName)}${left.id === null ? '' : ` (id ${shown(left.id)})`} by hand`);
  }
  if (auditFailure !== undefined) {
    io.err(`error: ${describeError(auditFailure)}`);
    io.err('The write probe stopped there: what it did is in the findings (and in the audit log as far as it could be written).');
  }
  const stopped = interruptedExit(opts.signal);
  if (stopped !== undefined) return stopped;
  if (auditFailure !== undefined) return EXIT.FAILED_OPERATIONS;
  const refused = checks.filter((c) => c.failure?.auth || c.probe?.failure?.auth);
  if (refused.length > 0) {
    io.err(`error: credential refused by ${refused.map((c) => `target ${c.target}${c.failure ? '' : ' (a write of the probe)'}`).join(', ')}`);
    return EXIT.CONFIG;
  }
  return unknownNames.length === 0 && checks.every((c) => c.usable && !c.probe?.failure && !c.probe?.leftBehind) ? EXIT.OK : EXIT.FAILED_OPERATIONS;
}

/** Closes the probe's log: the first write failure (the one that halted the probes, or one at the close), if any. */
async function closeAudit(audit: JsonlAuditSink | undefined, halted: AbortSignal): Promise<unknown> {
  if (!audit) return undefined;
  let failure: unknown = halted.aborted ? halted.reason : undefined;
  await audit.close().catch((error: unknown) => (failure ??= error));
  return failure;
}
