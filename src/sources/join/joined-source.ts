/**
 * `sources:` with `join:` as one SourceDirectory: every source read at once, joined by
 * join-snapshots.ts. A failed read of any source fails the whole read, naming the source: a join
 * missing a secondary would send the primary's values over the ones the secondary lends.
 */
import type { JoinedSourceConfig } from '../../config/schema/index.js';
import { ConfigError, SourceError } from '../../errors.js';
import type { DirectorySnapshot } from '../../model/canonical.js';
import { narrowSnapshot, NOTHING_TO_CHECK, type ReadProgress, type SourceDirectory } from '../source-directory.js';
import { joinSnapshots, type JoinSpec } from './join-snapshots.js';

export function joinSpec(config: JoinedSourceConfig): JoinSpec {
  const { join } = config;
  return {
    primary: join.primary,
    secondaries: Object.entries(join.secondaries).map(([name, s]) => ({ name, on: s.on, maxMissingPercent: s.maxMissingPercent })),
    precedence: join.precedence,
    groups: join.groups ?? [join.primary],
    keyCase: join.keyCase,
  };
}

/** Every source's outcome, or one error naming each source that failed (all are waited for: no read is left running unseen). */
async function fromEach<T>(names: readonly string[], parts: ReadonlyMap<string, SourceDirectory>, what: (name: string, part: SourceDirectory) => Promise<T>): Promise<Map<string, T>> {
  const settled = await Promise.allSettled(names.map((name) => what(name, parts.get(name)!)));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ name: names[i]!, error: s.reason as unknown }] : []));
  if (failed.length > 0) {
    const message = failed
      .map(({ name, error }) => `sources.${name} (${parts.get(name)!.description}): ${error instanceof Error ? error.message : String(error)}`)
      .join('; ');
    // A source's own config problem stays one (exit 2); anything else is a failed read (exit 4).
    if (failed.every((f) => f.error instanceof ConfigError)) throw new ConfigError(message, [], { cause: failed[0]!.error });
    throw new SourceError(message, {}, { cause: failed[0]!.error });
  }
  return new Map(settled.map((s, i) => [names[i]!, (s as PromiseFulfilledResult<T>).value]));
}

export class JoinedSource implements Required<SourceDirectory> {
  readonly description: string;
  /** readOne reads every source whole (see there). */
  readonly narrowLookups = false;
  /** Local when every source joined is (see SourceDirectory.local). */
  readonly local: boolean;
  private readonly spec: JoinSpec;
  private readonly names: readonly string[];

  constructor(
    config: JoinedSourceConfig,
    private readonly parts: ReadonlyMap<string, Required<SourceDirectory>>,
  ) {
    this.spec = joinSpec(config);
    this.names = [this.spec.primary, ...this.spec.secondaries.map((s) => s.name)];
    this.description = `joined ${this.names.map((n) => `${n}=${parts.get(n)!.description}`).join(' + ')}`;
    this.local = this.names.every((n) => parts.get(n)!.local);
  }

  async read(progress?: ReadProgress): Promise<DirectorySnapshot> {
    const counts = new Map<string, number>();
    const told = (name: string): ReadProgress | undefined =>
      progress && {
        records: (n) => {
          counts.set(name, n);
          progress.records([...counts.values()].reduce((a, b) => a + b, 0));
        },
      };
    const reads = await fromEach(this.names, this.parts, (name, part) => part.read(told(name)));
    return joinSnapshots(this.spec, reads, { description: this.description });
  }

  /**
   * The whole join, narrowed to one person. No adapter looks a record up by another attribute than
   * its key, and a manager only a secondary names is mapped through every person of the primary: a
   * read of the primary's one person would lose that reference and plan it cleared.
   */
  async readOne(key: string): Promise<DirectorySnapshot> {
    return narrowSnapshot(await this.read(), key);
  }

  /** Each source's check of the names it is given, its problems named by the source they are of. */
  async checkNames(): Promise<{ problems: string[] } | { unchecked: string }> {
    const checked = await fromEach(this.names, this.parts, (_name, part) => part.checkNames ? part.checkNames() : Promise.resolve(NOTHING_TO_CHECK));
    const unchecked = [...checked].flatMap(([name, c]) => ('unchecked' in c ? [`sources.${name}: ${c.unchecked}`] : []));
    const problems = [...checked].flatMap(([name, c]) => ('problems' in c ? c.problems.map((p) => `sources.${name}: ${p}`) : []));
    return problems.length === 0 && unchecked.length > 0 ? { unchecked: unchecked.join('; ') } : { problems };
  }

  /**
   * Every source's attributes; and the join checked against them: the attributes it is joined on
   * and those precedence names are offered (a typo would otherwise join no one).
   */
  async offeredAttributes(): Promise<ReadonlySet<string>> {
    const offered = await fromEach(this.names, this.parts, (_name, part) => part.offeredAttributes());
    const problems: string[] = [];
    const lacks = (name: string, attribute: string) => !offered.get(name)!.has(attribute);
    for (const { name, on } of this.spec.secondaries) {
      if (lacks(this.spec.primary, on[0])) problems.push(`join.secondaries.${name}.on[0]: ${this.spec.primary} offers no attribute "${on[0]}" (${this.parts.get(this.spec.primary)!.description})`);
      if (lacks(name, on[1])) problems.push(`join.secondaries.${name}.on[1]: ${name} offers no attribute "${on[1]}" (${this.parts.get(name)!.description})`);
    }
    for (const [attribute, listed] of Object.entries(this.spec.precedence)) {
      const asked = listed.includes(this.spec.primary) ? listed : [...listed, this.spec.primary];
      if (asked.every((name) => lacks(name, attribute))) problems.push(`join.precedence.${attribute}: none of ${asked.join(', ')} offers "${attribute}"`);
    }
    if (problems.length > 0) throw new ConfigError(`join: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems);
    return new Set([...offered.values()].flatMap((names) => [...names]));
  }
}
