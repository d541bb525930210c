/**
 * The provisioning log's records of one write probe (`check --write-probe`): the app's own log shows
 * an account created, changed and deleted by our token, and ours must say who did it and why. One
 * record per write sent, with its outcome (`failed`: the server's error), and `probe.left` for a
 * probe that stays in the target. Records go through the same sink, redactor and
 * `audit.redactAttributes` as a run's.
 */
import type { AuditAction, AuditRecord, AuditSink } from '../audit/audit-sink.js';
import { errorDetail } from '../execution/operation-outcome.js';
import type { AttributeChange } from '../model/plan.js';

/** What a write's record says beyond its action and outcome. */
export interface ProbeWriteDetail {
  /** The probe's SCIM id; absent while no account is proved to be the probe. */
  scimId?: string;
  changes?: AttributeChange[];
  note?: string;
}

type ProbeWrite = Extract<AuditAction, 'probe.create' | 'probe.patch' | 'probe.deactivate' | 'probe.delete'>;

export class ProbeLog {
  constructor(
    private readonly audit: AuditSink,
    /** The check's id, as a cycle's: the records of one `check` share it. */
    private readonly cycleId: string,
    private readonly target: string,
    private readonly probe: { userName: string; externalId: string },
  ) {}

  /**
   * Before the first write: says which account is about to be created (a check killed during the
   * create leaves it to be found here), and proves the log takes a write; throws the StateError,
   * naming the log, when it does not, so that nothing is sent.
   */
  start(): void {
    this.record('probe.start', 'info', { note: 'check --write-probe: a throwaway user is created, written and removed to learn what the target keeps' });
    this.audit.flush();
  }

  /** Sends one write and records how it ended; the write's error is thrown on after its record. */
  async send<T>(action: ProbeWrite, write: () => Promise<T>, detail: ProbeWriteDetail = {}): Promise<T> {
    try {
      const result = await write();
      this.record(action, 'ok', detail);
      return result;
    } catch (error) {
      this.record(action, 'failed', detail, errorDetail(error));
      throw error;
    }
  }

  /** A write that ended as `outcome`, recorded after the fact (a create whose answer had to be confirmed). */
  wrote(action: ProbeWrite, outcome: 'ok' | 'failed', detail: ProbeWriteDetail, error?: unknown): void {
    this.record(action, outcome, detail, error === undefined ? {} : errorDetail(error));
  }

  /** The probe is still in the target: `why` it was not removed, and the failure that stopped the probe, if any. */
  left(scimId: string | null, why: string, failure?: { code: string; message: string }): void {
    const error = failure && { error: { code: failure.code, message: failure.message } };
    this.record('probe.left', 'failed', { ...(scimId === null ? {} : { scimId }), note: `still in the target, remove it by hand: ${why}` }, error);
  }

  private record(action: AuditAction, outcome: AuditRecord['outcome'], detail: ProbeWriteDetail, extra: Partial<AuditRecord> = {}): void {
    const { scimId, changes, note } = detail;
    this.audit.record({
      time: new Date().toISOString(),
      planId: this.cycleId,
      target: this.target,
      action,
      externalId: this.probe.externalId,
      label: this.probe.userName,
      ...(scimId === undefined ? {} : { scimId }),
      outcome,
      ...extra,
      ...(changes ? { changed: changes.map((c) => c.path), modifiedProperties: changes } : {}),
      ...(note === undefined ? {} : { note }),
    });
  }
}
