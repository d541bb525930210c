/** `state` and `audit`: where scim-sync keeps what it knows and what it did. */
import * as z from 'zod';

export const state = z
  .object({
    dir: z.string().default('.scim-sync').describe('Link store, run lock and audit log, relative to the config file. Default .scim-sync.'),
  })
  .strict();

export const audit = z
  .object({
    file: z
      .string()
      .optional()
      .describe('JSON-lines provisioning log, relative to the config file. Default <state.dir>/audit.jsonl. "{host}" in it is replaced by this host\'s name: workers on several hosts sharing one directory each append to their own file, and `scim-sync log` reads them all.'),
    maxFileMB: z.number().min(0).default(50).describe('Rotate the log when it would grow past this many megabytes (fractions allowed; 0: never by size). Default 50.'),
    rotateDaily: z.boolean().default(false).describe('Also rotate the log at the first write of each UTC day. Default false.'),
    retainFiles: z.number().int().min(0).default(20).describe('Rotated files kept (the newest); 0: keep none. Default 20.'),
    retainDays: z.number().min(0).default(90).describe('Rotated files older than this many days are removed, past the newest retainDays files (a clock that jumped ahead cannot delete the history); 0: no age limit. Default 90.'),
    redactAttributes: z
      .array(z.string().min(1))
      .default(['phoneNumbers', 'addresses', 'password', 'x509Certificates'])
      .describe('Attributes whose old and new values the log shows as "[redacted]" (a name, a sub-attribute like name.familyName, or an extension URN path). Default phoneNumbers, addresses, password, x509Certificates.'),
  })
  .strict();
