/** targets.<name>.mapping, roles and entitlements: what each user holds in a target. */
import { z } from 'zod';

export const mappingRule = z.union([
  z.string().describe('A template: {attribute}, {attribute | lower}, literal text.'),
  z.null().describe('Remove a default mapping.'),
  z
    .object({
      value: z.string().describe('Template for the value.'),
      default: z.string().optional().describe('Template used when the value comes out empty.'),
      when: z.enum(['always', 'create']).default('always').describe('"create": set only when the account is created.'),
    })
    .strict(),
]);

export const roleRule = z
  .object({
    value: z.string().min(1).describe('Template for the value, e.g. "admin" or "{jobRole}".'),
    whenMemberOf: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('Only for members of this group (or any of these groups), by name; nested membership counts when groups.nested is flatten.'),
    type: z.string().optional().describe('SCIM `type` sent with the value.'),
  })
  .strict();
