/** source.type google: a Google Workspace domain through the Admin SDK Directory API. */
import * as z from 'zod';
import { controlCharacters } from './control-characters.js';
import { positiveInt } from './numbers.js';
import { secret } from './secret-field.js';

export const googleSource = z
  .object({
    type: z.literal('google').describe('Google Workspace (Admin SDK Directory API).'),
    controlCharacters,
    credentials: secret.describe(
      'The service account key (its JSON file, as ${file:path}). The account needs domain-wide delegation for the ' +
        'admin.directory.user.readonly and admin.directory.group.readonly scopes (group scope only when groups are read).',
    ),
    subject: z.email().describe('The Workspace admin the service account acts for (domain-wide delegation).'),
    customer: z.string().min(1).default('my_customer').describe("Customer id; my_customer is the admin's own. Default my_customer."),
    domain: z.string().min(1).optional().describe('Read only this domain of the customer. Default: every domain.'),
    query: z
      .string()
      .min(1)
      .optional()
      .describe("Directory API users.list query, e.g. orgUnitPath='/Staff'. A person it leaves out reads as gone: narrow with care."),
    groups: z
      .object({
        enabled: z.boolean().default(true).describe('Read groups. Default true.'),
        query: z.string().min(1).optional().describe('groups.list query, e.g. email:eng-*. Default every group.'),
      })
      .strict()
      .optional()
      .describe('Read groups and their members too. Absent: no groups.'),
    apiUrl: z
      .url({ protocol: /^https?$/ })
      .default('https://admin.googleapis.com')
      .describe('Directory API root, for a proxy or a test double. Default https://admin.googleapis.com.'),
    timeoutMs: positiveInt.default(60_000).describe('Per request timeout in milliseconds. Default 60000.'),
    changes: z
      .object({
        enabled: z.boolean().default(true).describe('Poll the admin activity report in `scim-sync serve`. Default true.'),
        overlapSeconds: positiveInt
          .default(3600)
          .describe(
            'How late the Reports API may list an event: each poll asks again for this much time before now (or from the ' +
              'newest event taken, if older). Google lists admin events minutes, at times hours, late. Events already handed ' +
              'out are recognised and skipped; one listed later than this is left to the full reconcile. Default 3600 (s).',
          ),
      })
      .strict()
      .optional()
      .describe(
        'Service mode: poll the Admin SDK Reports API (admin activity: users created, suspended, deleted, renamed, moved, ' +
          'added to or removed from groups) and sync only the people named, through apiUrl. The service account then also ' +
          'needs the admin.reports.audit.readonly scope. Absent: enabled with the defaults.',
      ),
  })
  .strict();
