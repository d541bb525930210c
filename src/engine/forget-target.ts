/**
 * Forgetting a target taken out of the config: its links are what still name its accounts, and
 * every plan warns of them (make-plan.ts) until they are dropped here, once the app is gone. A
 * target the config still names is refused: its links are how scim-sync knows its accounts, and
 * dropping them would make every person there a stranger the next cycle matches or creates again.
 */
import type { LoadedConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { Initiator } from '../audit/audit-sink.js';
import type { LinkCounts } from '../state/link-store.js';
import type { RunState } from './run-state.js';

export async function forgetTarget(
  loaded: LoadedConfig,
  state: Pick<RunState, 'links' | 'audit' | 'firstSyncs'>,
  target: string,
  who: { initiator: Initiator; by: string },
): Promise<LinkCounts> {
  if (Object.hasOwn(loaded.config.targets, target)) {
    throw new ConfigError(`target ${target} is in ${loaded.file}: its links are how scim-sync knows its accounts; take it out of the config first (or set enabled: false to pause it)`);
  }
  const linked = (await state.links.linkedTargets()).get(target);
  if (!linked) throw new ConfigError(`the state holds no links for a target named ${target}`);
  const dropped = await state.links.forgetTarget(target);
  // A first sync left unfinished there is over with its links: an app added again under the name starts its own.
  await state.firstSyncs.complete(target);
  state.audit.record({
    time: new Date().toISOString(),
    planId: '-',
    target,
    action: 'links.forget',
    outcome: 'info',
    ...who,
    note: `dropped the links of ${dropped.users} accounts and ${dropped.groups} groups of a target no longer in the config; nothing was sent to it`,
  });
  return dropped;
}
