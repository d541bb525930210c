/** Who runs this command, for the audit log: user@host. */
import { hostname, userInfo } from 'node:os';

export function operatorName(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container running as an arbitrary uid).
    user = process.env['USER'] ?? `uid ${process.getuid?.() ?? '?'}`;
  }
  return `${user}@${hostname()}`;
}
