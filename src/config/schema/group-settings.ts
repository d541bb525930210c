/** targets.<name>.groups: which groups are provisioned, and how. */
import * as z from 'zod';
import { duration, positiveInt } from './numbers.js';

export const groupSettings = z
  .object({
    enabled: z.boolean().default(true).describe('Provision groups from the source. Default true.'),
    include: z.array(z.string()).default(['*']).describe('Group names to provision; "*" matches any run of characters. Default ["*"].'),
    exclude: z.array(z.string()).default([]).describe('Group names never provisioned, same patterns. Default [].'),
    nested: z
      .enum(['direct', 'flatten'])
      .default('direct')
      .describe('direct: only people who are direct members. flatten: members of nested groups count too (cycles are reported). Default direct.'),
    deprovision: z
      .enum(['delete', 'leave'])
      .default('delete')
      .describe('What happens to a managed group that left the source or the selection: delete it, or leave it as it is. Default delete.'),
    adopt: z
      .enum(['none', 'displayName'])
      .default('none')
      .describe('Take over existing groups scim-sync did not create when their displayName matches. Default none.'),
    maxMembersPerPatch: positiveInt
      .default(500)
      .describe('Membership changes per PATCH request; larger changes are split. Default 500; a profile with a lower limit (aws: 100) lowers it.'),
    verifyMembersEvery: duration
      .prefault('24h')
      .describe(
        'On a server that returns group members nowhere (quirk groupMembersInList: false, AWS): how long the membership scim-sync remembers ' +
          'for a group is trusted before the group is checked again, one request per linked user. Default 24h.',
      ),
    verifyMembersPerCycle: positiveInt
      .default(10_000)
      .describe(
        'On such a server: the most requests a cycle spends on checking again groups whose verifyMembersEvery has passed, oldest first ' +
          '(at least one group per cycle; groups with nothing remembered are checked whatever this says). Default 10000.',
      ),
  })
  .strict();
