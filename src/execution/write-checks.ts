/**
 * What one apply knows about one target's writes (targets.<name>.writeChecks): the PATCH shape
 * each attribute is kept in (learned on earlier runs, or in this one), which attributes were
 * already read back in this apply, and the changes parked or counting towards it. Shared by the
 * inline executor (one per target and apply) and the BullMQ workers (one per worker, target and
 * plan); what it learns goes to the WriteMemory at once, so the next run, or another worker,
 * starts from it.
 *
 * Reading back is bounded: only the first write of an attribute in an apply (`learn`), compared
 * with the server's answer when it carries the resource, and read with one GET only when it does
 * not and the attribute was never read back on this target (or with `always`).
 */
import type { PatchShape } from '../config/profiles.js';
import { BadRequestError, describeError } from '../errors.js';
import type { Operation, ParkedChange } from '../model/plan.js';
import { attributeParkKey, operationParkKey } from '../planning/parked.js';
import type { LearnedShape, ParkedEntry, WriteMemory } from '../state/write-memory.js';
import { attributeName, type ShapeOf } from '../targets/patch-shape.js';

export interface WriteCheckSettings {
  verify: 'off' | 'learn' | 'always';
  parkAfterRuns: number;
  /** The target's configured PATCH shape (quirk patchShape), for attributes nothing was learned about. */
  shape: PatchShape;
}

/** How one write of an attribute is checked: not at all, against the server's answer, or by reading the resource. */
export type CheckBy = 'none' | 'answer' | 'read';

const RETRY_PARKED = '`scim-sync run --retry-parked`';

export class WriteChecks {
  /** Attributes read back (and kept) in this apply: not checked again. */
  private readonly checked = new Set<string>();

  private constructor(
    readonly target: string,
    readonly planId: string,
    readonly settings: WriteCheckSettings,
    private readonly memory: WriteMemory,
    private readonly learned: Map<string, LearnedShape>,
    private readonly entries: Map<string, ParkedEntry>,
  ) {}

  static async open(memory: WriteMemory, target: string, planId: string, settings: WriteCheckSettings): Promise<WriteChecks> {
    const [learned, entries] = await Promise.all([memory.shapes(target), memory.parked(target)]);
    return new WriteChecks(target, planId, settings, memory, learned, entries);
  }

  /** The shape an attribute is written in: the one learned for it, else the configured one. */
  readonly shapeOf: ShapeOf = (attribute) => this.learned.get(attribute)?.shape ?? this.settings.shape;

  checkBy(attribute: string, answered: boolean): CheckBy {
    const { verify } = this.settings;
    if (verify === 'off') return 'none';
    if (verify === 'always') return answered ? 'answer' : 'read';
    if (this.checked.has(attribute)) return 'none';
    if (answered) return 'answer';
    return this.learned.has(attribute) ? 'none' : 'read';
  }

  /**
   * An attribute read back as written, in `shape` (null: by PUT, no shape). Remembered; returns the
   * notice for the admin when the shape is new and not the configured one.
   */
  async kept(attribute: string, shape: PatchShape | null, example: string): Promise<string | undefined> {
    this.checked.add(attribute);
    if (shape === null || this.learned.get(attribute)?.shape === shape) return undefined;
    const learned: LearnedShape = { shape, at: new Date().toISOString(), example };
    this.learned.set(attribute, learned);
    await this.memory.learnShape(this.target, attribute, learned);
    if (shape === this.settings.shape) return undefined;
    const name = attributeName(attribute);
    return (
      `target ${this.target} stores ${name} only with patchShape ${shape} (read back on ${example}); learned, ` +
      `consider setting it in the config (targets.${this.target}.quirks.patchShape: ${shape})`
    );
  }

  /** A change the target keeps in no shape: parked at once. Returns the notice. */
  async notKept(change: Omit<ParkedChange, 'since'>): Promise<string> {
    await this.store({ ...change, since: new Date().toISOString(), runs: 1, planId: this.planId, parked: true });
    return `parked ${change.attribute ?? change.kind} of ${change.label}: ${change.reason}; not sent again until its source value changes or ${RETRY_PARKED}`;
  }

  /**
   * An operation refused with a final error: one more run in a row (each run counts once). At
   * `parkAfterRuns` runs, or again after `--retry-parked`, it is parked; returns the notice then.
   */
  async refused(op: Operation, reason: string): Promise<string | undefined> {
    const key = operationParkKey(op);
    if (key === undefined) return undefined;
    const before = this.entries.get(key);
    if (before?.planId === this.planId) return undefined;
    const runs = (before?.runs ?? 0) + 1;
    const parked = runs >= this.settings.parkAfterRuns || before?.parked === true;
    const since = parked && !before?.parked ? new Date().toISOString() : (before?.since ?? new Date().toISOString());
    await this.store({ key, kind: op.kind, externalId: op.externalId, label: op.label, reason, since, runs, planId: this.planId, parked });
    if (!parked) return undefined;
    return `parked ${op.kind} of ${op.label} after ${runs} run${runs === 1 ? '' : 's'} in a row refused it; not sent again until it changes or ${RETRY_PARKED}`;
  }

  /** An operation that went through: what earlier runs counted or parked of it is forgotten. */
  async done(op: Operation): Promise<void> {
    if (this.entries.size === 0) return;
    const keys = [operationParkKey(op), ...(op.kind === 'updateUser' ? op.changes.map((c) => attributeParkKey(op.externalId, c)) : [])].filter(
      (k): k is string => k !== undefined && this.entries.has(k) && this.entries.get(k)!.planId !== this.planId,
    );
    if (keys.length === 0) return;
    for (const key of keys) this.entries.delete(key);
    await this.memory.forget(this.target, keys);
  }

  private async store(entry: ParkedEntry): Promise<void> {
    this.entries.set(entry.key, entry);
    await this.memory.park(this.target, entry);
  }
}

/**
 * What an operation's end means for parking, in either executor: a refusal the server marks final
 * (BadRequestError: a 400, or a 5xx with a scimType) counts a run, and returns the notice once it
 * parks the operation; a success forgets what earlier runs counted. Best effort: a memory that
 * cannot be written costs one more try next run, never the operation's outcome.
 */
export async function settleChecks(writes: WriteChecks | undefined, op: Operation, error?: unknown): Promise<string | undefined> {
  if (!writes) return undefined;
  try {
    if (error === undefined) await writes.done(op);
    else if (error instanceof BadRequestError) return await writes.refused(op, describeError(error));
  } catch {
    // See above: the next run counts again.
  }
  return undefined;
}
