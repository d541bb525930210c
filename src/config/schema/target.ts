/** targets.<name>: one SCIM server and what scim-sync may do to it. */
import * as z from 'zod';
import { PROFILE_NAMES } from '../profiles.js';
import { mappingRule, roleRule } from './mapping-rules.js';
import { groupSettings } from './group-settings.js';
import { matching } from './matching.js';
import { positiveInt } from './numbers.js';
import { quirks } from './quirks.js';
import { rateLimit } from './rate-limit.js';
import { scopeFilter } from './scope-filter.js';
import { auth } from './target-auth.js';
import { writeChecks } from './write-checks.js';

const operations = z
  .object({
    create: z.boolean().default(true).describe('Create users new to the target. Default true.'),
    update: z.boolean().default(true).describe('Update changed attributes. Default true.'),
    deactivate: z.boolean().default(true).describe('Deprovision leavers. Default true.'),
  })
  .strict();

export const target = z
  .object({
    url: z.url({ protocol: /^https?$/ }).describe('SCIM base URL, e.g. https://api.example.com/scim/v2.'),
    auth,
    enabled: z.boolean().default(true).describe('false skips this target. Default true.'),
    timeoutMs: positiveInt.default(30_000).describe('Per-request timeout in milliseconds. Default 30000.'),
    maxResponseBytes: positiveInt
      .default(64 * 1024 * 1024)
      .describe('Largest response body read, in bytes (after decompression); a larger one fails that request, not retried. Default 67108864 (64 MiB).'),
    concurrency: positiveInt
      .max(64)
      .default(4)
      .describe('Requests in flight at once (in distributed mode: per worker process; rateLimit holds across workers). Default 4.'),
    retries: positiveInt.max(20).default(5).describe('Attempts per operation for transient errors and 429. Default 5.'),
    stopAfterFailures: positiveInt
      .max(100_000)
      .optional()
      .describe(
        'Answers in a row that are 429, a 5xx (but 501) or none at all (a network error, a timeout), with no other answer between, after which ' +
          'a run sends nothing more to this target: what it did not send is skipped, the target is reported stopped and quarantine judges it. ' +
          'Counts every request (reads, writes, retries). Default: 5 per request in flight (5 × concurrency), at least 20.',
      ),
    pageSize: positiveInt
      .max(1000)
      .optional()
      .describe(
        "Resources per list page. Default: the largest the server admits (its discovery's filter.maxResults, up to 1000, within the profile's maxPageSize); 100 when it does not say.",
      ),
    updateMethod: z
      .enum(['auto', 'patch', 'put'])
      .default('auto')
      .describe('auto: PATCH when the server says it supports it, else PUT. Default auto.'),
    operations: operations.prefault({}),
    deprovision: z
      .enum(['deactivate', 'delete'])
      .default('deactivate')
      .describe('deactivate: PATCH active=false (reversible). delete: DELETE the account. Default deactivate.'),
    adopt: z
      .enum(['none', 'userName', 'email'])
      .default('none')
      .describe(
        'Accounts that exist in the target but were not created by scim-sync are left alone (none), ' +
          'or taken over when their userName / work email matches a source person. Default none. ' +
          'Short for match: {on: [userName]} (none), {on: [userName], adopt: [userName]}, {on: [work email, userName], adopt: [work email]}.',
      ),
    match: matching
      .optional()
      .describe('The attributes that find an account when no link does, in order, and which of them may adopt one. Default: as `adopt` says.'),
    scope: z
      .array(scopeFilter)
      .optional()
      .describe('Who is provisioned here: a list of filters (OR), each a map of attribute -> clause (AND). Default everyone.'),
    mapping: z
      .record(z.string(), mappingRule)
      .default({})
      .describe('SCIM attribute path -> rule, merged over the default mapping.'),
    profile: z
      .enum(PROFILE_NAMES)
      .default('generic')
      .describe('Known behaviour of the server (generic, aws, github, slack, entra-compatible); quirks override it key by key. Default generic.'),
    quirks: quirks.prefault({}).describe('Overrides of the profile, key by key.'),
    writeChecks: writeChecks.prefault({}).describe('Reading back what was written, learning the PATCH shape a server keeps, parking what it never keeps.'),
    rateLimit: rateLimit
      .optional()
      .describe("At most `requests` requests in any window of `perMs` ms, reads and writes together. Default: the profile's (slack 600 per 60000), else unlimited."),
    tls: z
      .object({
        ca: z.string().optional().describe('PEM file of the CA(s) to trust for this target (added to the system ones), relative to the config file.'),
        cert: z.string().optional().describe('PEM client certificate for mutual TLS, relative to the config file.'),
        key: z.string().optional().describe('PEM private key of the client certificate, relative to the config file.'),
      })
      .strict()
      .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'give both cert and key, or neither' })
      .optional()
      .describe('Custom CA bundle and client certificate. Default: system CAs, no client certificate.'),
    groups: groupSettings.prefault({}),
    roles: z
      .array(roleRule)
      .optional()
      .describe('SCIM `roles` of each user, from group membership or attributes. Unset: roles are not managed.'),
    entitlements: z.array(roleRule).optional().describe('SCIM `entitlements`, like roles. Unset: not managed.'),
    manager: z
      .boolean()
      .default(true)
      .describe("Set the enterprise manager reference to the manager's account in this target. Default true."),
  })
  .strict()
  .refine((t) => t.match === undefined || t.adopt === 'none', {
    message: 'adopt and match both say what may be adopted: with match, write match.adopt (e.g. [userName]) and leave adopt out',
    path: ['adopt'],
  });
