import type { MappingRule } from '../config/schema/index.js';

/**
 * What a target gets when its config says nothing: canonical source attributes onto the SCIM core
 * User and the enterprise extension. A rule whose attributes the source never provides drops out,
 * so a CSV without a phone column never clears phone numbers someone set in the app.
 */
export const DEFAULT_USER_MAPPING: Readonly<Record<string, MappingRule>> = {
  userName: '{userName}',
  'name.givenName': '{givenName}',
  'name.familyName': '{familyName}',
  'name.middleName': '{middleName}',
  'name.honorificPrefix': '{honorificPrefix}',
  // A directory's cn is the name as its people write it ("王伟", not "伟 王"): better than one composed here.
  displayName: { value: '{displayName}', default: ['{commonName}', '{givenName} {familyName}'], when: 'always' },
  nickName: '{nickName}',
  title: '{title}',
  userType: '{userType}',
  preferredLanguage: '{preferredLanguage}',
  locale: '{locale}',
  timezone: '{timezone}',
  'emails[type eq "work"].value': '{email}',
  'phoneNumbers[type eq "work"].value': '{phone}',
  'phoneNumbers[type eq "mobile"].value': '{mobile}',
  'addresses[type eq "work"].locality': '{city}',
  'addresses[type eq "work"].country': '{country}',
  'enterprise:employeeNumber': '{employeeNumber}',
  'enterprise:costCenter': '{costCenter}',
  'enterprise:organization': '{organization}',
  'enterprise:division': '{division}',
  'enterprise:department': '{department}',
};
