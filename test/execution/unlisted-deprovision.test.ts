/**
 * A deprovision the planner could only address through a link (the account was not in the listing):
 * the executor reads the account by id first, and one that carries another person's key is not
 * theirs to deactivate (a stale or copied link, a server that reuses ids). Through the executor's
 * own entry point, with a target that records what it is asked.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import type { OperationContext } from '../../src/execution/operation-context.js';
import { runOperation } from '../../src/execution/run-operation.js';
import { RecreateCount } from '../../src/execution/recreate-budget.js';
import type { DeprovisionUserOp } from '../../src/model/plan.js';
import type { ScimTarget } from '../../src/targets/scim-target.js';
import type { LinkStore } from '../../src/state/link-store.js';

function context(account: Record<string, unknown>): { ctx: OperationContext; asked: string[] } {
  const asked: string[] = [];
  const client = {
    get: async (type: string, id: string) => (asked.push(`GET ${type}/${id}`), { id, ...account }),
    patch: async (type: string, id: string) => (asked.push(`PATCH ${type}/${id}`), { id, ...account, active: false }),
  } as unknown as ScimTarget;
  const links = { get: async () => undefined, set: async () => undefined, delete: async () => undefined } as unknown as LinkStore;
  return { ctx: { target: 'app', client, links, failed: { add: async () => undefined, get: async () => undefined }, recreates: new RecreateCount(0) }, asked };
}

const op: DeprovisionUserOp = {
  id: 'd1',
  kind: 'deprovisionUser',
  externalId: 'E1005',
  label: 'user5@example.com',
  scimId: 'acc-5',
  mode: 'deactivate',
  reason: 'removed',
  patch: [{ op: 'replace', path: 'active', value: false }],
  unlisted: true,
};

describe('a deprovision by id, not in the listing', () => {
  it('refuses an account keyed to someone else, and writes nothing', async () => {
    const { ctx, asked } = context({ userName: 'someone@example.com', externalId: 'E7777', active: true });
    const error = await runOperation(op, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toBe('the account the link names (id acc-5) carries externalId "E7777", not E1005: not deprovisioned (a stale, copied or edited link)');
    expect(asked).toEqual(['GET Users/acc-5']);
  });

  it('deactivates one keyed to the leaver, or to no one', async () => {
    for (const account of [{ externalId: 'E1005', active: true }, { active: true }]) {
      const { ctx, asked } = context(account);
      await runOperation(op, ctx);
      expect(asked).toEqual(['GET Users/acc-5', 'PATCH Users/acc-5']);
    }
  });
});
