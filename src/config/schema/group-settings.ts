/** targets.<name>.groups: which groups are provisioned, and how. */
import { z } from 'zod';
import { positiveInt } from './numbers.js';

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
  })
  .strict();
