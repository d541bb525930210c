/**
 * This process's PID namespace and boot id, read from /proc as a holder records them (none where
 * there is no /proc): a lock planted with them is one of this PID space's, whose pid is looked at.
 * Read here, not through state/holder.ts, so that tests say what a holder must record.
 */
import { readFileSync, readlinkSync } from 'node:fs';

function read(what: () => string): string | undefined {
  try {
    return what().trim() || undefined;
  } catch {
    return undefined;
  }
}

const pidns = read(() => readlinkSync('/proc/self/ns/pid'));
const boot = read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));

export const pidSpace: { pidns?: string; boot?: string } = { ...(pidns ? { pidns } : {}), ...(boot ? { boot } : {}) };
