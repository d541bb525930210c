/** `state` and `audit`: where scim-sync keeps what it knows and what it did. */
import { z } from 'zod';

export const state = z
  .object({
    dir: z.string().default('.scim-sync').describe('Link store, run lock and audit log, relative to the config file. Default .scim-sync.'),
  })
  .strict();

export const audit = z
  .object({
    file: z.string().optional().describe('JSON-lines audit log. Default <state.dir>/audit.jsonl.'),
  })
  .strict();
