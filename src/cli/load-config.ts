/**
 * Loading a command's config: parsed, its mappings and TLS files checked, warnings said. Its own
 * module so that the light commands (log, unlock, unquarantine, status) load no planner, executor
 * or source adapter with it: each command's module is loaded when it runs (main.ts).
 */
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { checkTlsFiles } from '../config/check-tls-files.js';
import { checkMappings } from '../mapping/check-mappings.js';
import { stderrWarning, type Io, type Warn } from './io.js';

export interface CommonOptions {
  config: string;
  json?: boolean;
  target?: string[];
}

/** `warn`: where the config's warnings go (a command with a log passes logWarning); default stderr. */
export function load(file: string, io: Io, options: { env?: NodeJS.ProcessEnv; warn?: Warn } = {}): LoadedConfig {
  const loaded = loadConfig(file, options.env);
  checkMappings(loaded.config);
  checkTlsFiles(loaded.config);
  const warn = options.warn ?? stderrWarning(io);
  for (const w of loaded.warnings) warn(w);
  return loaded;
}
