/**
 * The admin activity report (Reports API activities.list, applicationName=admin) read for what it
 * says about people and groups the Google source reads. Each activity has an id (its time and a
 * uniqueQualifier) and events, each with a name and parameters ({name, value}). Events about other
 * things (devices, settings, passwords, admin roles: none of them is an attribute the source
 * reads) are ignored. Pure.
 */

type Json = Record<string, unknown>;

/**
 * Events that change what the source reads of the person named by USER_EMAIL (see google-user.ts):
 * existence, suspension and archiving, names, primary email, org unit, organisation, phones,
 * addresses, external ids and the manager relation.
 */
const PERSON_EVENTS = new Set([
  'CREATE_USER',
  'DELETE_USER',
  'UNDELETE_USER',
  'SUSPEND_USER',
  'UNSUSPEND_USER',
  'ARCHIVE_USER',
  'UNARCHIVE_USER',
  'RENAME_USER',
  'CHANGE_FIRST_NAME',
  'CHANGE_LAST_NAME',
  'MOVE_USER_TO_ORG_UNIT',
  'CHANGE_USER_ORGANIZATION',
  'CHANGE_USER_PHONE_NUMBER',
  'CHANGE_USER_ADDRESS',
  'CHANGE_USER_EXTERNAL_ID',
  'CHANGE_USER_RELATION',
]);

/** USER_EMAIL joined or left GROUP_EMAIL (a person, a nested group or an outside address). */
const MEMBER_EVENTS = new Set(['ADD_GROUP_MEMBER', 'REMOVE_GROUP_MEMBER']);
/** Of MEMBER_EVENTS, those after which USER_EMAIL is no longer a member. */
const LEAVING_EVENTS = new Set(['REMOVE_GROUP_MEMBER']);

/** A group itself changed in a way that concerns all its members. */
const GROUP_EVENTS = new Set(['CHANGE_GROUP_NAME', 'DELETE_GROUP']);

export type ActivityEffect =
  /** `emails`: USER_EMAIL, and a rename's NEW_VALUE (the address after it). */
  | { readonly kind: 'person'; readonly event: string; readonly emails: readonly string[] }
  /** `leaves`: the member is out of the group after it. */
  | { readonly kind: 'member'; readonly event: string; readonly email: string; readonly group: string; readonly leaves: boolean }
  | { readonly kind: 'group'; readonly event: string; readonly group: string };

export interface AdminActivity {
  /** `<time>|<uniqueQualifier>`: the same activity listed again (the poll windows overlap) has the same id. */
  readonly id: string;
  /** RFC 3339, as Google gives it. */
  readonly time: string;
  readonly effects: readonly ActivityEffect[];
}

function parameters(event: Json): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of Array.isArray(event['parameters']) ? event['parameters'] : []) {
    if (p && typeof p === 'object' && typeof (p as Json)['name'] === 'string' && typeof (p as Json)['value'] === 'string') {
      out.set((p as Json)['name'] as string, (p as Json)['value'] as string);
    }
  }
  return out;
}

/** One activity of a page, or undefined when it lacks an id or a time (nothing can be said of it). */
export function readActivity(raw: Json): AdminActivity | undefined {
  const id = raw['id'] && typeof raw['id'] === 'object' ? (raw['id'] as Json) : {};
  const time = typeof id['time'] === 'string' ? id['time'] : undefined;
  if (time === undefined || Number.isNaN(Date.parse(time))) return undefined;
  const qualifier = typeof id['uniqueQualifier'] === 'string' || typeof id['uniqueQualifier'] === 'number' ? String(id['uniqueQualifier']) : '';
  const effects: ActivityEffect[] = [];
  for (const event of Array.isArray(raw['events']) ? raw['events'] : []) {
    if (!event || typeof event !== 'object') continue;
    const name = String((event as Json)['name'] ?? '');
    const params = parameters(event as Json);
    const email = params.get('USER_EMAIL')?.toLowerCase();
    const group = params.get('GROUP_EMAIL')?.toLowerCase();
    if (PERSON_EVENTS.has(name) && email) {
      const renamed = name === 'RENAME_USER' ? params.get('NEW_VALUE')?.toLowerCase() : undefined;
      effects.push({ kind: 'person', event: name, emails: renamed && renamed !== email ? [email, renamed] : [email] });
    } else if (MEMBER_EVENTS.has(name) && email && group) {
      effects.push({ kind: 'member', event: name, email, group, leaves: LEAVING_EVENTS.has(name) });
    } else if (GROUP_EVENTS.has(name) && group) {
      effects.push({ kind: 'group', event: name, group });
    }
  }
  return { id: `${time}|${qualifier}`, time, effects };
}
