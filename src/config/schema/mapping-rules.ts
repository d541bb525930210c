/** targets.<name>.mapping, roles and entitlements: what each user holds in a target. */
import * as z from 'zod';

const mappingWhen = z.enum(['always', 'create']).default('always').describe('"create": set only when the account is created.');

export const mappingRule = z.union([
  z
    .string()
    .describe(
      'A template: {attribute}, {attribute | lower}, {attribute[1]} (the second value of a multi-valued one), literal text; ' +
        'or, starting with "=", an expression: =Coalesce(nickName, givenName) (README: Expressions).',
    ),
  z.null().describe('Remove a default mapping.'),
  z
    .object({
      value: z.string().describe('Template or "=expression" for the value.'),
      default: z
        .union([z.string(), z.array(z.string()).min(1)])
        .optional()
        .describe('Template or "=expression" used when the value comes out empty; a list is tried in order.'),
      when: mappingWhen,
    })
    .strict(),
  z
    .object({
      values: z
        .string()
        .describe(
          'For a multi-valued SCIM attribute mapped whole (emails, phoneNumbers): a template read once per value of its one source attribute, e.g. "{email}"; ' +
            'or an expression giving a list, e.g. =Split(mails, ";").',
        ),
      types: z
        .array(z.string().min(1))
        .min(1)
        .default(['work'])
        .describe('The SCIM type of each value in source order, the last one repeating for the rest; the first value is primary. Default [work].'),
      when: mappingWhen,
    })
    .strict(),
]);

export const roleRule = z
  .object({
    value: z.string().min(1).describe('Template or "=expression" for the value, e.g. "admin", "{jobRole}" or =Lookup(department, "roles").'),
    whenMemberOf: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('Only for members of this group (or any of these groups), by name; nested membership counts when groups.nested is flatten.'),
    type: z.string().optional().describe('SCIM `type` sent with the value.'),
  })
  .strict();
