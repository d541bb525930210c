/**
 * A Directory API user resource -> a canonical user (pure). The key is the user's immutable id;
 * suspended or archived people are inactive. Attributes take the canonical names the default
 * mapping reads; the manager is the `manager` relation, an email resolved to a key once everyone
 * is read.
 */
import type { CanonicalUser, SourceIssueCode, SourceValue } from '../../model/canonical.js';

type Json = Record<string, unknown>;

function text(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v : null;
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter((x): x is Json => !!x && typeof x === 'object' && !Array.isArray(x)) : [];
}

/** The entry marked primary, else the first (organizations, addresses). */
function primary(entries: Json[]): Json | undefined {
  return entries.find((e) => e['primary'] === true) ?? entries[0];
}

function ofType(entries: Json[], type: string): string | null {
  return text(entries.find((e) => e['type'] === type)?.['value']);
}

/** The attributes every Google user carries (null when the directory has no value). */
export const GOOGLE_ATTRIBUTES = [
  'userName',
  'email',
  'givenName',
  'familyName',
  'displayName',
  'title',
  'department',
  'costCenter',
  'division',
  'organization',
  'employeeNumber',
  'phone',
  'mobile',
  'city',
  'country',
  'orgUnitPath',
] as const;

export interface GoogleUser {
  readonly user: CanonicalUser;
  /** Email of the manager relation, lowercased; resolved to a key by the caller. */
  readonly managerEmail: string | null;
  readonly primaryEmail: string;
}

export type GoogleUserResult = GoogleUser | { code: SourceIssueCode; message: string };

export function toCanonicalUser(raw: Json): GoogleUserResult {
  const id = text(raw['id']);
  const primaryEmail = text(raw['primaryEmail']);
  if (!id) return { code: 'GOOGLE_MISSING_ID', message: `user ${primaryEmail ?? '(no email)'} has no id` };
  if (!primaryEmail) return { code: 'GOOGLE_MISSING_EMAIL', message: `user ${id} has no primaryEmail` };
  const name = raw['name'] && typeof raw['name'] === 'object' ? (raw['name'] as Json) : {};
  const organization = primary(list(raw['organizations'])) ?? {};
  const phones = list(raw['phones']);
  const address = primary(list(raw['addresses'])) ?? {};
  const attributes = {
    userName: primaryEmail,
    email: primaryEmail,
    givenName: text(name['givenName']),
    familyName: text(name['familyName']),
    displayName: text(name['fullName']),
    title: text(organization['title']),
    department: text(organization['department']),
    costCenter: text(organization['costCenter']),
    division: text(organization['description']),
    organization: text(organization['name']),
    employeeNumber: ofType(list(raw['externalIds']), 'organization'),
    phone: ofType(phones, 'work'),
    mobile: ofType(phones, 'mobile'),
    city: text(address['locality']),
    country: text(address['countryCode']) ?? text(address['country']),
    orgUnitPath: text(raw['orgUnitPath']),
  } satisfies Record<(typeof GOOGLE_ATTRIBUTES)[number], SourceValue>;
  const manager = list(raw['relations']).find((r) => r['type'] === 'manager');
  return {
    user: { key: id, active: raw['suspended'] !== true && raw['archived'] !== true, attributes, managerKey: null, ref: { location: `users/${primaryEmail}` } },
    managerEmail: text(manager?.['value'])?.toLowerCase() ?? null,
    primaryEmail,
  };
}
