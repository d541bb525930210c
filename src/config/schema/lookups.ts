/** lookups: tables the expression language's Lookup(key, "table") reads. */
import * as z from 'zod';

export const lookups = z
  .record(
    z.string().regex(/^[A-Za-z0-9_-]+$/, 'table names use letters, digits, "-" and "_"'),
    z.record(z.string(), z.string()).describe('Key -> value; keys compare ignoring case.'),
  )
  .default({})
  .describe('Tables for Lookup(key, "table", [default]) in mapping expressions, e.g. costCenters: {Sales: CC-100}. Default none.');
