/**
 * The provisioning log: one record per operation outcome and per decision not to act (skipped,
 * unchanged, held), never a secret. The README's "Provisioning log" lists the format.
 */
import { PHASE_OF, type AttributeChange, type OperationKind } from '../model/plan.js';
import type { JsonObject } from '../model/scim.js';

/** What started the work a record belongs to; `console`: a person signed in to the web console (`by`: console:<name>). */
export type Initiator = 'schedule' | 'cli' | 'on-demand' | 'event' | 'console';

/**
 * An operation's kind, or an event: an apply's start and end (`interrupted`: the operator stopped
 * it; `stopped`: a state write failed), the safety check's stop or its override, a target that
 * could not be read or stopped, a distributed cycle's end. `probe.*`: the writes of `check
 * --write-probe` to its throwaway user (engine/probe-log.ts), never an operation kind, so that
 * readers of people's operations (the access report, the deprovision window) do not count it.
 */
export const EVENT_ACTIONS = [
  'apply.start',
  'apply.end',
  'apply.interrupted',
  'apply.stopped',
  'safety.stop',
  'safety.override',
  'target.failed',
  'cycle.end',
  'staged.create',
  'staged.approve',
  'staged.reject',
  'staged.recovered',
  'quarantine.enter',
  'quarantine.exit',
  'notify.failed',
  'person.provision',
  'person.deprovision',
  'person.release',
  'links.forget',
  'first-sync.continue',
  'first-sync.complete',
  'probe.start',
  'probe.create',
  'probe.patch',
  'probe.deactivate',
  'probe.delete',
  'probe.left',
] as const;

export type AuditAction = OperationKind | (typeof EVENT_ACTIONS)[number];

/** Every action a record may have, for `log --action` to check what it is asked for. */
export const AUDIT_ACTIONS: readonly string[] = [...Object.keys(PHASE_OF), ...EVENT_ACTIONS];

export interface AuditRecord {
  time: string;
  planId: string;
  /** The cycle: the plan's id (planId is kept for readers of older logs). Set by the sink when absent. */
  cycleId?: string;
  /** The operation's id within its plan. */
  changeId?: string;
  initiator?: Initiator;
  /** Who asked: user@host for the CLI. */
  by?: string;
  target: string;
  action: AuditAction;
  externalId?: string;
  label?: string;
  scimId?: string;
  /**
   * `partial`: done without some of what was planned (the note says what and why); `held`: planned
   * but not applied (deprovisioning after a dirty source read; the note says why).
   */
  outcome: 'ok' | 'partial' | 'failed' | 'skipped' | 'unchanged' | 'info' | 'held';
  /**
   * A linked account found gone and made again: a create the plan made for a link its listing no
   * longer showed, or an update whose account a write and a read by id both found gone. The
   * service's safety window counts these against safety.maxRecreatePercent.
   */
  recreated?: true;
  /** The server's HTTP status, when the outcome came from a response. */
  status?: number;
  attempts?: number;
  /** Attribute paths changed. */
  changed?: string[];
  /** Each change with its old and new value; values of `audit.redactAttributes` read "[redacted]". */
  modifiedProperties?: AttributeChange[];
  /**
   * The resources the operation sends (a create's body, a PUT's, a re-create's). Never written: the
   * sink takes the values of `audit.redactAttributes` in them, and in modifiedProperties, out of the
   * error, the note and the steps, where a server refusing one may have quoted it.
   */
  sends?: readonly JsonObject[];
  /** From the operation's first attempt to its outcome, in milliseconds (in a worker: the last attempt). */
  durationMs?: number;
  error?: { code: string; message: string; detail?: string };
  note?: string;
  /** How the operation came about and ended, step by step (see execution/operation-steps.ts). */
  steps?: AuditStep[];
  /**
   * On the `apply.start` of a plan made from a read of the whole source: how many people it held.
   * The service judges a whole read taken for a few people against it, also after a restart.
   */
  sourcePeople?: number;
}

/** One step of an operation's story: what the source said, the scope, the match, the action, the export. */
export interface AuditStep {
  step: 'source' | 'scope' | 'match' | 'action' | 'export';
  detail: string;
  /** For the export: how it ended. */
  outcome?: AuditRecord['outcome'];
}

export interface AuditSink {
  record(entry: AuditRecord): void;
  /** Writes what is recorded now; throws (naming the log) when it cannot be written. */
  flush(): void;
  close(): Promise<void>;
}

/** For commands that record nothing. */
export const NO_AUDIT: AuditSink = { record: () => undefined, flush: () => undefined, close: async () => undefined };

/** The same log, with every record stamped as started by `who` (the service's event-driven work). */
export function withInitiator(audit: AuditSink, who: { initiator: Initiator; by?: string }): AuditSink {
  return {
    record: (entry) => audit.record({ ...entry, ...who }),
    flush: () => audit.flush(),
    close: () => audit.close(),
  };
}
