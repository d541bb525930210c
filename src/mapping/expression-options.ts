import type { Config } from '../config/schema/index.js';
import { lookupTables } from './expression/index.js';
import type { MappingOptions } from './user-mapping.js';

/**
 * What a config's expressions need to compile: its lookup tables (keys lower-cased once) and the
 * time Now() gives, which is the plan's (`now`; default: the moment of the call).
 */
export function expressionOptions(config: Pick<Config, 'lookups'>, now: Date = new Date()): MappingOptions {
  return { lookups: lookupTables(config.lookups), now };
}
