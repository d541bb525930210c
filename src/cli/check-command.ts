/** `scim-sync check`: test the connection to each target and say what will and will not work. */
import { load } from './load-config.js';
import { checkTarget, type TargetCheck } from '../engine/check-target.js';
import { userMapping } from '../engine/make-plan.js';
import { expressionOptions } from '../mapping/expression-options.js';
import { createSource } from '../sources/create-source.js';
import { selectTargets } from '../config/select-targets.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './io.js';

const MARK = { ok: '✓', info: '·', warning: '!' } as const;

export function formatCheck(c: TargetCheck): string {
  const out = [`Target ${c.target} (${c.url}, profile ${c.profile}${c.proxy ? `, via proxy ${c.proxy}` : ''})`];
  if (c.failure) {
    out.push(`  ✗ ${c.failure.auth ? 'credential refused' : 'not usable'}: ${c.failure.message}`);
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
  for (const f of c.findings) out.push(`  ${MARK[f.level]} ${f.message}`);
  if (c.probe) {
    out.push(`  write probe (user ${c.probe.userName}):`);
    for (const f of c.probe.findings) out.push(`    ${MARK[f.level]} ${f.message}`);
  }
  return out.join('\n');
}

/** Exit 0 when every target is usable, 2 when a credential is refused, 1 when a target is otherwise unusable. */
export async function checkCommand(opts: { config: string; target?: string[]; json?: boolean; writeProbe?: boolean }, io: Io): Promise<number> {
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
  const checks = await Promise.all(targets.map(([name, config]) => checkTarget(name, config, { writeProbe: !!opts.writeProbe, ...mappingOf(name, config) })));
  if (opts.json) io.out(JSON.stringify(checks, null, 2));
  else io.out(checks.map(formatCheck).join('\n\n'));
  if (checks.some((c) => c.failure?.auth)) {
    io.err(`error: credential refused by ${checks.filter((c) => c.failure?.auth).map((c) => `target ${c.target}`).join(', ')}`);
    return EXIT.CONFIG;
  }
  return checks.every((c) => c.usable) ? EXIT.OK : EXIT.FAILED_OPERATIONS;
}
