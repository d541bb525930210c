/** source.type ldap: OpenLDAP or Active Directory. */
import * as z from 'zod';
import { controlCharacters } from './control-characters.js';
import { ldapFilter } from './ldap-filter.js';
import { positiveInt } from './numbers.js';
import { secret } from './secret-field.js';

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
    filter: ldapFilter
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
        userAccountControl: z
          .boolean()
          .optional()
          .describe('Disabled when bit 2 (ACCOUNTDISABLE) of userAccountControl is set. Default true for flavor ad (false turns it off), false otherwise.'),
        attribute: z.string().min(1).optional().describe('Disabled when this attribute has a value (any value, or one of `values`).'),
        values: z.array(z.string()).min(1).optional().describe('Values of `attribute` (case-insensitive) that mean disabled.'),
        filter: ldapFilter.optional().describe('Disabled when the entry also matches this LDAP filter (one extra search).'),
      })
      .strict()
      // A rule that names nothing to read disables nobody: every leaver kept in the directory would
      // be re-activated in every app, with nothing to say the rule was empty.
      .superRefine((rule, ctx) => {
        if (rule.values !== undefined && rule.attribute === undefined) {
          ctx.addIssue({ code: 'custom', path: ['values'], message: 'values are values of `attribute`: give the attribute they are read from' });
        } else if (rule.attribute === undefined && rule.filter === undefined && rule.userAccountControl !== true) {
          ctx.addIssue({ code: 'custom', message: 'names no rule: give attribute (with values), filter or userAccountControl: true' });
        }
      })
      .optional()
      .describe(
        'Which entries are disabled people (active: false): any of the rules given marks one disabled. ' +
          'Default {userAccountControl: true} for ad, none for openldap; on ad the userAccountControl check is kept unless set false.',
      ),
    uidAttribute: z.string().min(1).default('uid').describe('Attribute that posixGroup memberUid values name. Default uid.'),
  })
  .strict();

const ldapGroups = z
  .object({
    base: z.string().min(1).describe('Search base DN of the groups.'),
    scope: ldapScope.default('sub'),
    filter: ldapFilter
      .optional()
      .describe(
        'LDAP filter. Default (|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)) for openldap, ' +
          '(objectClass=group) for ad.',
      ),
    key: ldapKey.optional().describe('Immutable id of a group. Default as for users.'),
    nameAttribute: z.string().min(1).default('cn').describe('Attribute giving the displayName; a group without it is named by its DN, with a source warning. Default cn.'),
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

/** How `scim-sync serve` learns between cycles who changed (sources/ldap/ldap-change-feed.ts). */
const ldapChanges = z
  .object({
    mode: z
      .enum(['auto', 'modifyTimestamp', 'usn', 'off'])
      .default('auto')
      .describe(
        'How `serve` finds changed people between full cycles. modifyTimestamp: entries under users.base with modifyTimestamp or ' +
          'createTimestamp at or after the last position (any LDAP server; deletions and moves out of the base need accessLogBase). ' +
          'usn: Active Directory uSNChanged above the last highestCommittedUSN of the one domain controller in url, tombstones for ' +
          'deletions. off: no change feed, full cycles only. auto: usn for flavor ad, modifyTimestamp otherwise. Default auto.',
      ),
    accessLogBase: z
      .string()
      .min(1)
      .optional()
      .describe(
        'modifyTimestamp mode: base DN of the OpenLDAP accesslog database (slapo-accesslog), e.g. cn=accesslog, readable by the bind ' +
          'account. Its records name the people deleted or moved out of the base and those who joined or left a group (which ' +
          'changes no timestamp of theirs); the overlay should log old values of people and groups (olcAccessLogOld) and the key ' +
          'attribute (olcAccessLogOldAttr: <users.key.attribute>) unless the key is entryUUID. Default unset: deletions, moves out ' +
          'of the base and membership changes reach the targets only at the next full cycle.',
      ),
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(5)
      .describe(
        'modifyTimestamp mode: seconds each pass looks back before the last position seen, for a write stamped before the last pass ' +
          'and committed after it (entries already handed out are not handed out again). Default 5.',
      ),
  })
  .strict();

export const ldapSource = z
  .object({
    type: z.literal('ldap').describe('OpenLDAP, Active Directory or another LDAPv3 directory.'),
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
      .prefault({}),
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
    changes: ldapChanges.prefault({}),
  })
  .strict();
