/**
 * What each directory flavor means when the config leaves an option out: data, not branches. The
 * canonical attribute names are the ones the default mapping reads (see default-user-mapping.ts).
 */
import type { LdapSourceConfig } from '../../config/schema/index.js';
import type { KeyFormat } from './binary-key.js';

/** How an LDAP source names itself (SourceDirectory.description): server and users base. */
export function ldapDescription(config: Pick<LdapSourceConfig, 'url' | 'users'>): string {
  return `ldap:${config.url}/${config.users.base}`;
}

export interface KeySetting {
  readonly attribute: string;
  readonly format: KeyFormat;
}

export interface DisabledSetting {
  readonly userAccountControl?: boolean;
  readonly attribute?: string;
  readonly values?: readonly string[];
  readonly filter?: string;
}

interface FlavorDefaults {
  readonly key: KeySetting;
  readonly userFilter: string;
  readonly groupFilter: string;
  /** Canonical attribute -> LDAP attribute. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly disabled: DisabledSetting | undefined;
}

export const FLAVOR_DEFAULTS: Readonly<Record<LdapSourceConfig['flavor'], FlavorDefaults>> = {
  openldap: {
    key: { attribute: 'entryUUID', format: 'string' },
    userFilter: '(objectClass=inetOrgPerson)',
    groupFilter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))',
    attributes: {
      userName: 'uid',
      givenName: 'givenName',
      familyName: 'sn',
      displayName: 'displayName',
      commonName: 'cn',
      email: 'mail',
      phone: 'telephoneNumber',
      mobile: 'mobile',
      title: 'title',
      department: 'departmentNumber',
      employeeNumber: 'employeeNumber',
      userType: 'employeeType',
      organization: 'o',
      city: 'l',
      preferredLanguage: 'preferredLanguage',
    },
    disabled: undefined,
  },
  ad: {
    key: { attribute: 'objectGUID', format: 'guid' },
    userFilter: '(&(objectCategory=person)(objectClass=user))',
    groupFilter: '(objectClass=group)',
    attributes: {
      userName: 'userPrincipalName',
      givenName: 'givenName',
      familyName: 'sn',
      displayName: 'displayName',
      commonName: 'cn',
      email: 'mail',
      phone: 'telephoneNumber',
      mobile: 'mobile',
      title: 'title',
      department: 'department',
      employeeNumber: 'employeeID',
      organization: 'company',
      division: 'division',
      city: 'l',
      country: 'c',
    },
    disabled: { userAccountControl: true },
  },
};

/** The config with every flavor default filled in. */
export interface LdapSettings {
  readonly users: {
    readonly base: string;
    readonly scope: 'base' | 'one' | 'sub';
    readonly filter: string;
    readonly key: KeySetting;
    readonly attributes: ReadonlyMap<string, string>;
    readonly manager: string | null;
    readonly disabled: DisabledSetting | undefined;
    readonly uidAttribute: string;
  };
  readonly groups:
    | {
        readonly base: string;
        readonly scope: 'base' | 'one' | 'sub';
        readonly filter: string;
        readonly key: KeySetting;
        readonly nameAttribute: string;
        readonly memberAttributes: readonly string[];
        readonly memberUidAttribute: string | null;
        readonly membership: 'group' | 'memberOf';
        readonly nested: 'expand' | 'direct';
        readonly inChain: boolean;
      }
    | undefined;
}

/**
 * The config's disabled rule over the flavor's: an attribute or filter is added to AD's
 * userAccountControl check, which only an explicit `userAccountControl: false` turns off (a
 * custom leaver attribute must not stop the reading of disabled accounts).
 */
function disabledSetting(flavor: DisabledSetting | undefined, configured: DisabledSetting | undefined): DisabledSetting | undefined {
  if (!configured) return flavor;
  const userAccountControl = configured.userAccountControl ?? flavor?.userAccountControl;
  return { ...configured, ...(userAccountControl === undefined ? {} : { userAccountControl }) };
}

export function ldapSettings(config: LdapSourceConfig): LdapSettings {
  const flavor = FLAVOR_DEFAULTS[config.flavor];
  const attributes = new Map(Object.entries(flavor.attributes));
  for (const [canonical, ldap] of Object.entries(config.users.attributes)) {
    if (ldap === null) attributes.delete(canonical);
    else attributes.set(canonical, ldap);
  }
  const g = config.groups;
  return {
    users: {
      base: config.users.base,
      scope: config.users.scope,
      filter: config.users.filter ?? flavor.userFilter,
      key: config.users.key ?? flavor.key,
      attributes,
      manager: config.users.manager,
      disabled: disabledSetting(flavor.disabled, config.users.disabled),
      uidAttribute: config.users.uidAttribute,
    },
    groups: g && {
      base: g.base,
      scope: g.scope,
      filter: g.filter ?? flavor.groupFilter,
      key: g.key ?? config.users.key ?? flavor.key,
      nameAttribute: g.nameAttribute,
      memberAttributes: g.memberAttributes,
      memberUidAttribute: g.memberUidAttribute,
      membership: g.membership,
      nested: g.nested,
      inChain: g.inChain,
    },
  };
}
