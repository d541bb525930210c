/**
 * The service's order per person. A full cycle reads the whole source, then applies for minutes;
 * meanwhile a change-driven sync may read one person afresh and apply a newer decision (a leaver
 * deactivated). The cycle's operations for that person were planned on the older read and must
 * not undo it: when one is about to start, it is skipped as superseded, and the next cycle plans
 * the person afresh.
 */
import type { Superseded } from '../execution/executor.js';
import type { Operation } from '../model/plan.js';

/** Operations that write one person's account (or their manager reference): the ones a stale read can undo. */
const PERSON_OPS = new Set<Operation['kind']>(['createUser', 'updateUser', 'linkUser', 'deprovisionUser', 'setManager']);

export class PersonClock {
  /** Key → the source read (ms) of the newest decision applied for that person outside full cycles. */
  private readonly decided = new Map<string, number>();

  /** A change-driven sync that read these people at `readAt` has been applied. */
  mark(keys: Iterable<string>, readAt: Date): void {
    const at = readAt.getTime();
    for (const key of keys) this.decided.set(key, Math.max(at, this.decided.get(key) ?? 0));
  }

  /** For a plan that read the source at `readAt`: its operations for people decided on a newer read. */
  superseded(readAt: Date): Superseded {
    const at = readAt.getTime();
    return (_target, op) => {
      if (!PERSON_OPS.has(op.kind)) return undefined;
      const newer = this.decided.get((op as { externalId: string }).externalId);
      return newer !== undefined && newer > at
        ? `superseded: ${(op as { externalId: string }).externalId} was synced from a newer read of the source (${new Date(newer).toISOString()}) while this plan ran; the next cycle plans them afresh`
        : undefined;
    };
  }

  /** Forget decisions no plan still running can predate (a full cycle that started after them). */
  forgetBefore(time: Date): void {
    const at = time.getTime();
    for (const [key, decided] of this.decided) if (decided < at) this.decided.delete(key);
  }
}
