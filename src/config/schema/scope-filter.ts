/** targets.<name>.scope: who is provisioned to a target. */
import * as z from 'zod';

const clauseOps = z
  .object({
    eq: z.string().optional().describe('Equals this text (ignoring case); any value of a multi-valued attribute.'),
    ne: z.string().optional().describe('Does not equal this text (ignoring case): no value of the attribute does.'),
    in: z.array(z.string()).optional().describe('Equals one of these texts (ignoring case).'),
    notIn: z.array(z.string()).optional().describe('Equals none of these texts (ignoring case).'),
    startsWith: z.string().optional().describe('Begins with this text (ignoring case).'),
    endsWith: z.string().optional().describe('Ends with this text (ignoring case).'),
    contains: z.string().optional().describe('Holds this text (ignoring case).'),
    matches: z.string().optional().describe('A JavaScript regular expression.'),
    present: z.boolean().optional().describe('true: the attribute has a value; false: it has none.'),
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
