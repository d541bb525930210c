/**
 * The org.yaml schema: the one place every option is declared, documented (default and unit) and
 * validated. `scim-sync schema` prints it as JSON Schema for editors.
 */
import cronParser from 'cron-parser';
import { z } from 'zod';
import { Secret } from './secret.js';
import { FILTER_OPERATORS, PROFILE_NAMES, type QuirkOverrides } from './profiles.js';

/**
 * Keys whose string values are credentials; the loader wraps them in `Secret` before validation.
 * `redis` is a URL that may hold a password (redis://:password@host:6379); `credentials` is a
 * Google service account key.
 */
export const SECRET_KEYS = new Set(['token', 'password', 'clientSecret', 'redis', 'credentials']);

/** Whether a value written inline under a SECRET_KEYS key is a credential worth a warning. */
export function holdsCredential(key: string, value: string): boolean {
  if (key !== 'redis') return true;
  try {
    return new URL(value).password !== '';
  } catch {
    return true;
  }
}

const secret = z
  .instanceof(Secret, { message: 'must be a string, ideally a reference like ${env:NAME} or ${file:path}' })
  .meta({ type: 'string', description: 'A credential. Write ${env:NAME} or ${file:path} rather than the value itself.' });

const positiveInt = z.number().int().positive();
const percent = z.number().min(0).max(100);

// --- sources ---------------------------------------------------------------------------------

const controlCharacters = z
  .enum(['reject', 'strip'])
  .default('reject')
  .describe(
    'A value holding a control character (U+0000-U+001F, DEL, U+0080-U+009F; line breaks and tabs are allowed only in a CSV\'s ' +
      'multilineColumns): reject makes the record invalid (reported, the person held); strip removes the characters ' +
      '(a line break or tab becomes a space). Default reject.',
  );

const csvSource = z
  .object({
    type: z.literal('csv'),
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
  })
  .strict();

const ldapScope = z.enum(['base', 'one', 'sub']).describe('Search scope: base (the entry itself), one (its children), sub (the whole subtree).');

const ldapKey = z
  .object({
    attribute: z.string().min(1).describe('Attribute holding the immutable id, e.g. entryUUID or objectGUID.'),
    format: z
      .enum(['string', 'guid', 'uuid', 'hex', 'base64'])
      .describe(
        'How the value becomes the key: string (as is), guid (16 bytes -> GUID string in the mixed-endian form AD shows), ' +
          'uuid (16 bytes, big-endian), hex, base64.',
      ),
  })
  .strict();

const ldapUsers = z
  .object({
    base: z.string().min(1).describe('Search base DN of the people, e.g. ou=people,dc=example,dc=com.'),
    scope: ldapScope.default('sub'),
    filter: z
      .string()
      .min(1)
      .optional()
      .describe('LDAP filter. Default (objectClass=inetOrgPerson) for openldap, (&(objectCategory=person)(objectClass=user)) for ad.'),
    key: ldapKey.optional().describe('Immutable id -> externalId. Default entryUUID (string) for openldap, objectGUID (guid) for ad.'),
    attributes: z
      .record(z.string(), z.string().min(1).nullable())
      .default({})
      .describe(
        'Canonical attribute -> LDAP attribute, merged over the flavor defaults (null removes a default), ' +
          'e.g. {userName: mail, employeeNumber: employeeID}. Several values become a list.',
      ),
    manager: z
      .string()
      .min(1)
      .nullable()
      .default('manager')
      .describe("Attribute holding the manager's DN; the manager's key is looked up among the users read. null: none. Default manager."),
    disabled: z
      .object({
        userAccountControl: z.boolean().optional().describe('AD: disabled when bit 2 (ACCOUNTDISABLE) of userAccountControl is set.'),
        attribute: z.string().min(1).optional().describe('Disabled when this attribute has a value (any value, or one of `values`).'),
        values: z.array(z.string()).min(1).optional().describe('Values of `attribute` (case-insensitive) that mean disabled.'),
        filter: z.string().min(1).optional().describe('Disabled when the entry also matches this LDAP filter (one extra search).'),
      })
      .strict()
      .optional()
      .describe('Which entries are disabled people (active: false). Default {userAccountControl: true} for ad, none for openldap.'),
    uidAttribute: z.string().min(1).default('uid').describe('Attribute that posixGroup memberUid values name. Default uid.'),
  })
  .strict();

const ldapGroups = z
  .object({
    base: z.string().min(1).describe('Search base DN of the groups.'),
    scope: ldapScope.default('sub'),
    filter: z
      .string()
      .min(1)
      .optional()
      .describe(
        'LDAP filter. Default (|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)) for openldap, ' +
          '(objectClass=group) for ad.',
      ),
    key: ldapKey.optional().describe('Immutable id of a group. Default as for users.'),
    nameAttribute: z.string().min(1).default('cn').describe('Attribute giving the displayName. Default cn.'),
    memberAttributes: z
      .array(z.string().min(1))
      .default(['member', 'uniqueMember'])
      .describe('DN-valued membership attributes. Large AD groups are read with range retrieval. Default [member, uniqueMember].'),
    memberUidAttribute: z
      .string()
      .min(1)
      .nullable()
      .default('memberUid')
      .describe("posixGroup: attribute listing members by users.uidAttribute. null: none. Default memberUid."),
    membership: z
      .enum(['group', 'memberOf'])
      .default('group')
      .describe("group: read membership from the groups' member attributes. memberOf: from each entry's memberOf. Default group."),
    nested: z
      .enum(['direct', 'expand'])
      .default('direct')
      .describe(
        'direct: memberKeys holds direct users, groupKeys direct subgroups (each target flattens or not, per its groups.nested). ' +
          'expand: memberKeys holds every user of the group at any depth and groupKeys stays empty. Cycles are reported either way. Default direct.',
      ),
    inChain: z
      .boolean()
      .default(false)
      .describe(
        'AD only, with nested: expand: ask the server for transitive members (matching rule 1.2.840.113556.1.4.1941), ' +
          'one search per group, instead of expanding here. Default false.',
      ),
  })
  .strict();

const ldapSource = z
  .object({
    type: z.literal('ldap'),
    controlCharacters,
    url: z
      .string()
      .regex(/^ldaps?:\/\/[^/]+\/?$/i, 'must be ldap://host[:port] or ldaps://host[:port]')
      .describe('Server URL: ldaps://host[:636] (TLS), or ldap://host[:389] (with startTls).'),
    flavor: z.enum(['openldap', 'ad']).default('openldap').describe('Defaults for keys, filters, attributes and disabled accounts. Default openldap.'),
    startTls: z
      .boolean()
      .default(true)
      .describe('ldap:// only: upgrade with StartTLS before binding; the read fails if the server refuses. Default true.'),
    tls: z
      .object({
        caFile: z.string().min(1).optional().describe('PEM file of the CA(s) to trust, relative to the config file. Default: the system CAs.'),
        serverName: z.string().min(1).optional().describe('Name to check the certificate against when it differs from the URL host.'),
      })
      .strict()
      .default({}),
    bind: z
      .object({
        dn: z.string().min(1).describe('Bind DN of the read-only service account.'),
        // Empty is refused with every other credential (config/load.ts): with a DN, an empty password
        // makes a simple bind unauthenticated (RFC 4513 5.1.2), which some servers take as anonymous.
        password: secret,
      })
      .strict()
      .optional()
      .describe('Simple bind. Absent: anonymous.'),
    pageSize: positiveInt.max(10_000).default(500).describe('Entries per page (simple paged results control). AD caps it at 1000. Default 500.'),
    timeoutMs: positiveInt.default(60_000).describe('Per request (one page, one bind) timeout in milliseconds. Default 60000.'),
    connectTimeoutMs: positiveInt.default(10_000).describe('TCP/TLS connect timeout in milliseconds. Default 10000.'),
    timeLimitSeconds: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('Server-side time limit asked for each search, in seconds; hitting it fails the read. 0: the server default. Default 0.'),
    ignoreReferrals: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Referral URL prefixes (case-insensitive) that are skipped instead of failing the read, e.g. ' +
          'ldap://ForestDnsZones.corp.example.com/ for an AD search at the domain root. Default none.',
      ),
    users: ldapUsers,
    groups: ldapGroups.optional().describe('Read groups too. Absent: no groups.'),
  })
  .strict();

const googleSource = z
  .object({
    type: z.literal('google'),
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
        enabled: z.boolean().default(true),
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
  })
  .strict();

export const sourceSchema = z.discriminatedUnion('type', [csvSource, ldapSource, googleSource]);

// --- targets ---------------------------------------------------------------------------------

const auth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bearer'), token: secret }).strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1), password: secret }).strict(),
  z.object({ type: z.literal('none') }).strict().describe('No credential (a local sandbox only).'),
  z
    .object({
      type: z.literal('oauth2'),
      tokenUrl: z.url({ protocol: /^https?$/ }).describe('OAuth 2.0 token endpoint (client credentials grant).'),
      clientId: z.string().min(1),
      clientSecret: secret,
      scope: z.string().optional().describe('Space-separated scopes to ask for. Default none.'),
    })
    .strict()
    .describe('OAuth 2.0 client credentials: the token is fetched, cached and refreshed 60 s before it expires.'),
  z
    .object({
      type: z.literal('header'),
      name: z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name').describe('Header carrying the credential, e.g. X-Api-Key.'),
      token: secret.describe('The header value.'),
    })
    .strict()
    .describe('A credential in a custom header.'),
]);

const rateLimit = z
  .object({
    requests: positiveInt.describe('Requests allowed in any window of perMs.'),
    perMs: positiveInt.describe('Window length in milliseconds, e.g. 1000 or 60000.'),
  })
  .strict();

const quirks = z
  .object({
    maxMembersPerPatch: positiveInt.nullable().optional().describe('Most member changes per group PATCH; null = no limit. Profile default.'),
    groupMembersInList: z.boolean().optional().describe('false: GET /Groups omits members (read them with a members filter). Profile default.'),
    maxPageSize: positiveInt.nullable().optional().describe('Largest list page the server answers (caps pageSize); null = no cap. Profile default.'),
    filterOperators: z.array(z.enum(FILTER_OPERATORS)).optional().describe('Filter operators the server supports. Profile default: all.'),
    userNameCaseExact: z.boolean().optional().describe('true: the server compares userName case-sensitively. Default false.'),
    patchShape: z.enum(['rfc', 'value-object']).optional().describe('rfc: one op per path. value-object: replaces folded into one pathless op. Default rfc.'),
    supportsDelete: z.boolean().optional().describe('false: no DELETE; deprovision: delete deactivates instead. Default true.'),
    headers: z.record(z.string(), z.string()).optional().describe('Extra headers sent with every request. Merged over the profile\'s.'),
    rateLimit: rateLimit.nullable().optional().describe('Default request budget when the target sets no rateLimit; null = unlimited.'),
    createRateLimit: rateLimit.nullable().optional().describe('Budget for user creations alone (github: 1000 per 3600000 ms).'),
    startIndex: z.enum(['one-based', 'zero-based', 'ignored']).optional().describe('How the server counts startIndex. Default one-based.'),
    totalResults: z.enum(['exact', 'unreliable']).optional().describe('unreliable: end listings on a short page only. Default exact.'),
    etag: z.enum(['auto', 'off']).optional().describe('auto: If-Match when the server supports ETags. Default auto.'),
    bulk: z
      .enum(['auto', 'off'])
      .optional()
      .describe('auto: user writes go in /Bulk requests (sized to the server\'s limits) when the server supports Bulk. Default off.'),
  })
  .strict();

// The config's quirks are exactly the overridable keys of a profile.
const _quirksFit: QuirkOverrides = {} as z.output<typeof quirks>;
void _quirksFit;

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
const scopeFilter = z.record(z.string(), clauseOps);

const mappingWhen = z.enum(['always', 'create']).default('always').describe('"create": set only when the account is created.');

const mappingRule = z.union([
  z.string().describe('A template: {attribute}, {attribute | lower}, {attribute[1]} (the second value of a multi-valued one), literal text.'),
  z.null().describe('Remove a default mapping.'),
  z
    .object({
      value: z.string().describe('Template for the value.'),
      default: z
        .union([z.string(), z.array(z.string()).min(1)])
        .optional()
        .describe('Template used when the value comes out empty; a list is tried in order.'),
      when: mappingWhen,
    })
    .strict(),
  z
    .object({
      values: z
        .string()
        .describe('For a multi-valued SCIM attribute mapped whole (emails, phoneNumbers): a template read once per value of its one source attribute, e.g. "{email}".'),
      types: z
        .array(z.string().min(1))
        .min(1)
        .default(['work'])
        .describe('The SCIM type of each value in source order, the last one repeating for the rest; the first value is primary. Default [work].'),
      when: mappingWhen,
    })
    .strict(),
]);

const roleRule = z
  .object({
    value: z.string().min(1).describe('Template for the value, e.g. "admin" or "{jobRole}".'),
    whenMemberOf: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('Only for members of this group (or any of these groups), by name; nested membership counts when groups.nested is flatten.'),
    type: z.string().optional().describe('SCIM `type` sent with the value.'),
  })
  .strict();

const groupSettings = z
  .object({
    enabled: z.boolean().default(true).describe('Provision groups from the source. Default true.'),
    include: z.array(z.string()).default(['*']).describe('Group names to provision; "*" matches any run of characters. Default ["*"].'),
    exclude: z.array(z.string()).default([]).describe('Group names never provisioned, same patterns. Default [].'),
    nested: z
      .enum(['direct', 'flatten'])
      .default('direct')
      .describe('direct: only people who are direct members. flatten: members of nested groups count too (cycles are reported). Default direct.'),
    deprovision: z
      .enum(['delete', 'leave'])
      .default('delete')
      .describe('What happens to a managed group that left the source or the selection: delete it, or leave it as it is. Default delete.'),
    adopt: z
      .enum(['none', 'displayName'])
      .default('none')
      .describe('Take over existing groups scim-sync did not create when their displayName matches. Default none.'),
    maxMembersPerPatch: positiveInt
      .default(500)
      .describe('Membership changes per PATCH request; larger changes are split. Default 500; a profile with a lower limit (aws: 100) lowers it.'),
  })
  .strict();

const operations = z
  .object({
    create: z.boolean().default(true).describe('Create users new to the target. Default true.'),
    update: z.boolean().default(true).describe('Update changed attributes. Default true.'),
    deactivate: z.boolean().default(true).describe('Deprovision leavers. Default true.'),
  })
  .strict();

const target = z
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
    pageSize: positiveInt.max(1000).default(100).describe('Resources per list page. Default 100.'),
    updateMethod: z
      .enum(['auto', 'patch', 'put'])
      .default('auto')
      .describe('auto: PATCH when the server says it supports it, else PUT. Default auto.'),
    operations: operations.default({ create: true, update: true, deactivate: true }),
    deprovision: z
      .enum(['deactivate', 'delete'])
      .default('deactivate')
      .describe('deactivate: PATCH active=false (reversible). delete: DELETE the account. Default deactivate.'),
    adopt: z
      .enum(['none', 'userName', 'email'])
      .default('none')
      .describe(
        'Accounts that exist in the target but were not created by scim-sync are left alone (none), ' +
          'or taken over when their userName / work email matches a source person. Default none.',
      ),
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
    quirks: quirks.default({}).describe('Overrides of the profile, key by key.'),
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
    groups: groupSettings.default({
      enabled: true,
      include: ['*'],
      exclude: [],
      nested: 'direct',
      deprovision: 'delete',
      adopt: 'none',
      maxMembersPerPatch: 500,
    }),
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
  .strict();

// --- distributed mode ------------------------------------------------------------------------

const queue = z
  .object({
    redis: secret.describe(
      'Redis URL: redis://[:password@]host:6379[/db] or rediss:// for TLS. Setting it turns on distributed mode: ' +
        'run/apply enqueue to BullMQ, `scim-sync worker` executes, links and locks live in Redis. Use ${env:NAME} when it holds a password.',
    ),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "-" and "_" (no ":")')
      .default('scim-sync')
      .describe('Prefix of every Redis key and queue; separate installations sharing one Redis use different prefixes. Default scim-sync.'),
    lockDurationMs: positiveInt
      .default(30_000)
      .describe('How long a worker owns a job without renewing it; a job whose worker died is taken over after this. Default 30000 ms.'),
    stalledIntervalMs: positiveInt
      .default(30_000)
      .describe("How often workers look for jobs whose worker died (stalled jobs). Default 30000 ms."),
    cycleLockMs: positiveInt
      .default(600_000)
      .describe(
        "How long a target's cycle lock lives without progress; workers renew it as they process the cycle. A cycle " +
          'abandoned by every worker frees the target after this. Default 600000 ms (10 minutes).',
      ),
    retentionHours: positiveInt
      .default(24)
      .describe(
        'Completed jobs and stored plans are kept this long (re-enqueueing a plan within it does nothing twice). ' +
          'Failed operations are kept until `scim-sync retry`. Default 24 hours.',
      ),
  })
  .strict();

function validCron(expression: string): boolean {
  try {
    cronParser.parseExpression(expression);
    return true;
  } catch {
    return false;
  }
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const schedule = z
  .object({
    cron: z
      .string()
      .refine(validCron, { message: 'not a cron expression (minute hour day-of-month month day-of-week, e.g. "*/30 * * * *")' })
      .describe('When `scim-sync schedule` starts a cycle: a cron expression, e.g. "*/30 * * * *" (every 30 minutes).'),
    timezone: z
      .string()
      .refine(validTimeZone, { message: 'not an IANA time zone (e.g. Europe/Paris, UTC)' })
      .optional()
      .describe("IANA time zone the cron expression is read in, e.g. Europe/Paris. Default the host's."),
    jitterMs: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('Each cycle starts after a random delay up to this, so many installations do not hit an app at once. Default 0 ms.'),
  })
  .strict();

// --- whole file ------------------------------------------------------------------------------

export const configSchema = z
  .object({
    version: z.literal(1).default(1).describe('Config format version.'),
    state: z
      .object({
        dir: z.string().default('.scim-sync').describe('Link store, run lock and audit log, relative to the config file. Default .scim-sync.'),
      })
      .strict()
      .default({ dir: '.scim-sync' }),
    audit: z
      .object({
        file: z.string().optional().describe('JSON-lines audit log. Default <state.dir>/audit.jsonl.'),
      })
      .strict()
      .default({}),
    source: sourceSchema,
    safety: z
      .object({
        minSourceUsers: positiveInt
          .default(1)
          .describe('A source that yields fewer users is treated as an outage: nothing is written. Default 1.'),
        maxDeactivatePercent: percent
          .default(10)
          .describe("Stop when one run would deprovision more than this share of a target's managed users. Default 10 (%)."),
        maxDeactivateCount: z
          .number()
          .int()
          .nonnegative()
          .optional()
          .describe('Stop when one run would deprovision more than this many users in a target. Default unset.'),
        alwaysAllowDeactivations: z
          .number()
          .int()
          .nonnegative()
          .default(3)
          .describe('Runs that deprovision at most this many users in a target pass the percentage check (small teams). Default 3.'),
        maxInvalidRecordsPercent: percent
          .default(5)
          .describe('Stop when more than this share of source records is invalid. Default 5 (%).'),
        holdDeprovisionsOnInvalidRecords: z
          .boolean()
          .default(true)
          .describe(
            'When the source read reports any invalid record, hold every deprovisioning in that run (creates and updates of valid people still go) and exit 1: ' +
              'a broken row can hide other people from the read. Default true.',
          ),
        maxAttributeChangePercent: percent
          .default(30)
          .describe("Stop when one run would change or clear one attribute on more than this share of a target's managed users. Default 30 (%)."),
        alwaysAllowAttributeChanges: z
          .number()
          .int()
          .nonnegative()
          .default(10)
          .describe('Runs that change an attribute on at most this many users in a target pass the attribute check (small teams). Default 10.'),
        planMaxAgeHours: z
          .number()
          .positive()
          .default(24)
          .describe('`apply` refuses a saved plan older than this. Default 24 (hours).'),
      })
      .strict()
      .default({
        minSourceUsers: 1,
        maxDeactivatePercent: 10,
        alwaysAllowDeactivations: 3,
        maxInvalidRecordsPercent: 5,
        holdDeprovisionsOnInvalidRecords: true,
        maxAttributeChangePercent: 30,
        alwaysAllowAttributeChanges: 10,
        planMaxAgeHours: 24,
      }),
    targets: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'target names use letters, digits, "-" and "_"'), target)
      .refine((t) => Object.keys(t).length > 0, { message: 'at least one target is needed' }),
    queue: queue.optional().describe('Distributed mode (BullMQ on Redis). Default unset: embedded mode.'),
    schedule: schedule.optional().describe('Cycles run by `scim-sync schedule` (distributed mode). Default unset.'),
  })
  .strict()
  .refine((c) => !c.schedule || c.queue, { message: 'schedule needs queue.redis (distributed mode)', path: ['schedule'] });

export type Config = z.output<typeof configSchema>;
export type SourceConfig = Config['source'];
export type CsvSourceConfig = Extract<SourceConfig, { type: 'csv' }>;
export type LdapSourceConfig = Extract<SourceConfig, { type: 'ldap' }>;
export type GoogleSourceConfig = Extract<SourceConfig, { type: 'google' }>;
export type TargetConfig = Config['targets'][string];
export type SafetyConfig = Config['safety'];
export type QueueConfig = NonNullable<Config['queue']>;
export type ScheduleConfig = NonNullable<Config['schedule']>;
export type ScopeFilter = NonNullable<TargetConfig['scope']>[number];
export type MappingRule = TargetConfig['mapping'][string];
export type GroupSettings = TargetConfig['groups'];
export type RoleRule = NonNullable<TargetConfig['roles']>[number];

/** JSON Schema of org.yaml (input form: defaults are optional). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
