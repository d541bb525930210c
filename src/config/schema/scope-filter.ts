/** targets.<name>.scope: who is provisioned to a target. */
import { z } from 'zod';

const clauseOps = z
  .object({
    eq: z.string().optional(),
    ne: z.string().optional(),
    in: z.array(z.string()).optional(),
    notIn: z.array(z.string()).optional(),
    startsWith: z.string().optional(),
    endsWith: z.string().optional(),
    contains: z.string().optional(),
    matches: z.string().optional().describe('A JavaScript regular expression.'),
    present: z.boolean().optional(),
  })
  .strict()
  .refine((c) => Object.values(c).filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one operator (eq, ne, in, notIn, startsWith, endsWith, contains, matches, present)',
  });

/** One scoping filter: every clause must hold (AND). Text comparisons ignore case. */
export const scopeFilter = z.union([
  z.record(z.string(), clauseOps).describe('Clauses by attribute, all of which must hold, e.g. {department: {eq: Sales}}.'),
  z
    .string()
    .min(1)
    .describe('A condition in the expression language, e.g. \'department == "Sales" and IsPresent(email)\' (a leading "=" is allowed).'),
]);
