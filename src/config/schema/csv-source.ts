/** source.type csv: an HR export. */
import * as z from 'zod';
import { controlCharacters } from './control-characters.js';
import { percent } from './numbers.js';

export const csvSource = z
  .object({
    type: z.literal('csv').describe('An HR export or any CSV file.'),
    controlCharacters,
    path: z.string().min(1).describe('CSV file, relative to the config file.'),
    delimiter: z.string().min(1).max(4).default(',').describe('Field delimiter. Default ",".'),
    encoding: z
      .enum(['auto', 'utf-8', 'utf-16le', 'utf-16be', 'cp1252', 'latin1'])
      .default('auto')
      .describe(
        'File encoding (of the memberships file too). Bytes that do not decode fail the read, naming line and byte offset. ' +
          'auto: a byte order mark decides (UTF-8, UTF-16LE/BE), else valid UTF-8 is utf-8 and a file with no UTF-8 sequence is cp1252 ' +
          '(Windows-1252, which reads latin1 exports too); a file mixing both is refused. Default auto.',
      ),
    key: z
      .string()
      .min(1)
      .describe('Column holding the immutable person id (employee number, HR id). Becomes externalId. Never an email.'),
    columns: z
      .record(z.string(), z.string())
      .default({})
      .describe(
        'Canonical attribute -> CSV column, e.g. {userName: email, givenName: first_name}. ' +
          'Columns not listed are still available to mappings under their header name.',
      ),
    multiValueSeparator: z
      .string()
      .min(1)
      .optional()
      .describe('Split these columns into several values on this separator (for example ";" for several emails).'),
    multiValueColumns: z.array(z.string()).default([]).describe('Columns split with multiValueSeparator.'),
    multilineColumns: z
      .array(z.string())
      .default([])
      .describe(
        'Columns whose quoted values may span lines (and hold line breaks and tabs). Elsewhere a quoted field spanning lines is ' +
          'a stray quote: the record is invalid, and the people on the lines it swallowed are held. Default none.',
      ),
    inactive: z
      .object({
        column: z.string().min(1).describe('Column that marks leavers, e.g. status.'),
        values: z.array(z.string()).min(1).describe('Values (case-insensitive) that mean inactive, e.g. [terminated].'),
        activeValues: z
          .array(z.string())
          .min(1)
          .optional()
          .describe(
            'Values (case-insensitive) that mean active, e.g. [active, "on leave"]. When given, a status in neither list ' +
              '(one HR added since) holds that person, neither updated nor deactivated, with a warning naming the value and ' +
              'the line; "" lists an empty cell. Default: every value not in `values` is active.',
          ),
      })
      .superRefine((rule, ctx) => {
        const inactive = new Set(rule.values.map((v) => v.trim().toLowerCase()));
        for (const [i, v] of (rule.activeValues ?? []).entries()) {
          if (inactive.has(v.trim().toLowerCase())) ctx.addIssue({ code: 'custom', path: ['activeValues', i], message: `"${v}" is also in values: a status is active or inactive, not both` });
        }
      })
      .optional()
      .describe('Rule for inactive people: they are deactivated in every target.'),
    manager: z.string().optional().describe('Column holding the manager\'s key (the same id space as `key`).'),
    groups: z
      .object({
        column: z.string().min(1).describe('Column listing the groups a person belongs to, by name.'),
        separator: z.string().min(1).default(';').describe('Separator between group names. Default ";".'),
      })
      .strict()
      .optional()
      .describe('Group membership as a column of each person\'s row. A group\'s name is its key.'),
    memberships: z
      .object({
        path: z.string().min(1).describe('CSV file of memberships, one row per (group, member), relative to the config file.'),
        group: z.string().min(1).describe('Column with the group\'s immutable key (becomes the group\'s externalId).'),
        groupName: z.string().optional().describe('Column with the group\'s display name. Default: the key.'),
        member: z.string().min(1).describe('Column with the member\'s key: a person\'s key, or a group\'s key for nesting.'),
        memberType: z
          .string()
          .optional()
          .describe('Column saying "user" or "group" for the member. Default: every member is a person.'),
      })
      .strict()
      .optional()
      .describe('Group membership as a separate file; supports stable group ids (renames) and nesting.'),
    trailer: z
      .union([z.boolean(), z.string().min(1)])
      .optional()
      .describe(
        'The export ends with a trailer row stating how many data rows it holds: its first field is the marker ' +
          '("#count" for true, or the string given) and its second the count, e.g. `#count,1200`. Every read (cycles, ' +
          'one-person commands, the change feed) then refuses a file whose trailer is missing, not last, or counts ' +
          'differently (a truncated or half-written export), and the trailer is not read as a person. Default: no trailer.',
      ),
    changes: z
      .object({
        enabled: z.boolean().default(true).describe('Watch this file in `scim-sync serve`. Default true.'),
        settleMs: z
          .number()
          .int()
          .nonnegative()
          .default(1000)
          .describe('A file is taken only once its size and modification time have not changed for this long. Default 1000 (ms).'),
        doneMarker: z
          .boolean()
          .default(false)
          .describe(
            'Take the file only when `<path>.done` exists and is at least as new as it (the exporter writes the marker last). ' +
              'Set it for an exporter that rewrites the file in place (truncates it, then writes page by page). Default false.',
          ),
        confirmRemovedMs: z
          .number()
          .int()
          .nonnegative()
          .default(60_000)
          .describe(
            'A person whose row vanished from the file is handed out as removed only once the file has stayed exactly the same ' +
              '(size, modification time, inode) for this long since the poll that found them gone: an export rewritten in place ' +
              'and paused between pages reads, for a while, as everyone after the pause leaving. A row that says the person ' +
              'left (an inactive status) is not delayed. 0 trusts the first settled read. Default 60000 (ms).',
          ),
        maxRemovedPercent: percent
          .default(20)
          .describe(
            'When a new file lacks more than this share of the people of the last accepted one (or yields fewer than ' +
              'safety.minSourceUsers), the feed names no one and asks for a full reconcile instead, whose safety check ' +
              'decides (a truncated export must never deactivate anyone). Default 20 (%).',
          ),
      })
      .strict()
      .optional()
      .describe(
        'Service mode: watch the file, and when a new complete version settles, sync only the people whose rows were added, ' +
          'changed or removed since the last accepted version. Absent: enabled with the defaults.',
      ),
  })
  .strict();
