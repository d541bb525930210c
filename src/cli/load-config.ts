/**
 * Loading a command's config: parsed, its mappings and TLS files checked, warnings said. Its own
 * module so that the light commands (log, unlock, unquarantine, status) load no planner, executor
 * or source adapter with it: each command's module is loaded when it runs (main.ts).
 */
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { checkTlsFiles } from '../config/check-tls-files.js';
import { checkMappings } from '../mapping/check-mappings.js';
import type { Io } from './io.js';

export interface CommonOptions {
  config: string;
  json?: boolean;
  target?: string[];
}

export function load(file: string, io: Io, env?: NodeJS.ProcessEnv): LoadedConfig {
  const loaded = loadConfig(file, env);
  checkMappings(loaded.config);
  checkTlsFiles(loaded.config);
  for (const w of loaded.warnings) io.err(`warning: ${w}`);
  return loaded;
}
