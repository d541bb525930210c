/** `scim-sync unquarantine --target X`: lift a target's quarantine now, recorded and notified. */
import { selectTargets } from '../config/select-targets.js';
import { liftQuarantine } from '../engine/quarantine.js';
import { openState } from '../engine/state.js';
import { clip } from '../model/printable.js';
import { load } from './load-config.js';
import { EXIT } from './exit-codes.js';
import { stderrWarning, type Io } from './io.js';
import { commandNotifier } from './notifier.js';

export async function unquarantineCommand(opts: { config: string; target: string[]; json?: boolean }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  const state = await openState(loaded, { lock: false, audit: true, readOnly: true, log: (line) => io.err(line) });
  try {
    const entries = await state.quarantine.all();
    // A target no longer in the config may still be quarantined; any other name must be a target.
    selectTargets(loaded, opts.target.filter((t) => !entries.has(t)));
    const notifier = commandNotifier(loaded, stderrWarning(io), state.audit);
    const lifted: string[] = [];
    for (const target of opts.target) {
      const previous = entries.has(target) ? await liftQuarantine({ store: state.quarantine, audit: state.audit, notifier }, target, 'lifted by scim-sync unquarantine') : undefined;
      if (!previous) {
        if (!opts.json) io.out(`target ${target} is not quarantined`);
        continue;
      }
      lifted.push(target);
      if (!opts.json) io.out(`target ${target}: quarantine lifted (it was quarantined since ${previous.since}: ${clip(previous.reason, 500)}); the next cycle includes it`);
    }
    if (opts.json) io.out(JSON.stringify({ lifted }, null, 2));
    return EXIT.OK;
  } finally {
    await state.close();
  }
}
