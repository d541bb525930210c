/** The sources a config reads, one or several (`source:` or `sources:`), each with its config path. */
import type { SourceConfig, SourceSetup } from './schema/index.js';

export interface NamedSource {
  /** Where it is written: `source` or `sources.<name>`, for problems and warnings. */
  readonly path: string;
  readonly config: SourceConfig;
}

export function sourceEntries(setup: SourceSetup): NamedSource[] {
  if (setup.type !== 'joined') return [{ path: 'source', config: setup }];
  return Object.entries(setup.sources).map(([name, config]) => ({ path: `sources.${name}`, config }));
}
