/** `scim-sync forget --target X`: drop the links of a target the config no longer names (engine/forget-target.ts). */
import { forgetTarget } from '../engine/forget-target.js';
import { cliInitiator } from '../engine/operator.js';
import { openState } from '../engine/state.js';
import { load } from './load-config.js';
import { EXIT } from './exit-codes.js';
import type { Io } from './io.js';
import { withState } from './with-state.js';

export async function forgetCommand(opts: { config: string; target: string[]; json?: boolean }, io: Io): Promise<number> {
  const loaded = load(opts.config, io);
  const initiator = cliInitiator();
  // Embedded: the state directory's lock, as every writer of links.json. Distributed: no target's
  // lock, since the config names none of these targets and no cycle runs for them.
  const state = await openState(loaded, { lock: true, targets: [], audit: true, log: (line) => io.err(line), initiator });
  return withState(state, io, undefined, async () => {
    const forgotten: { target: string; users: number; groups: number }[] = [];
    for (const target of new Set(opts.target)) {
      const dropped = await forgetTarget(loaded, state, target, initiator);
      forgotten.push({ target, ...dropped });
      if (!opts.json) io.out(`target ${target}: dropped the links of ${dropped.users} accounts and ${dropped.groups} groups; its accounts were left as they are`);
    }
    if (opts.json) io.out(JSON.stringify({ forgotten }, null, 2));
    return EXIT.OK;
  });
}
