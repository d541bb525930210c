/**
 * Who started work by hand, for the provisioning log, holds and notifications: user@host, built
 * here only, for every command (run, apply, the person and review commands) and the service alike.
 */
import { hostname, userInfo } from 'node:os';

export function operatorName(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container running as an arbitrary uid): the environment may still say.
    user = process.env['USER'] ?? `uid ${process.getuid?.() ?? '?'}`;
  }
  return `${user}@${hostname()}`;
}

/**
 * The log's initiator of a command run by hand (or by cron): `cli`, or `on-demand` for one person
 * pushed now (`provision`); `by` is user@host. Given to openState, it stamps every record of the
 * command that does not say otherwise.
 */
export function cliInitiator(initiator: 'cli' | 'on-demand' = 'cli'): { initiator: 'cli' | 'on-demand'; by: string } {
  return { initiator, by: operatorName() };
}
