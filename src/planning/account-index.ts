/**
 * Lookups over a target's accounts, each map built on first use: in a steady-state cycle every
 * person is linked (and most are settled while listing), and the maps by externalId or by a
 * matching attribute are needed only for people without a link. Every map keeps all the accounts of a
 * value, so a value two accounts share is seen as ambiguous, never resolved by listing order.
 */
import { parsePath, readPath } from '../model/scim-paths.js';
import type { JsonObject, ServerResource } from '../model/scim.js';
import { WORK_EMAIL } from './match-rules.js';

const NONE: readonly ServerResource[] = Object.freeze([]);

/** The work email of an account: the entry typed work, else the primary one, else the first. */
export function workEmail(resource: JsonObject): string | null {
  const emails = resource['emails'];
  if (!Array.isArray(emails)) return null;
  const objs = emails.filter((e): e is JsonObject => !!e && typeof e === 'object' && !Array.isArray(e));
  const pick = objs.find((e) => String(e['type'] ?? '').toLowerCase() === 'work') ?? objs.find((e) => e['primary'] === true) ?? objs[0];
  return typeof pick?.['value'] === 'string' ? pick['value'] : null;
}

/** An account's value of a matching attribute (a path key), as it is compared: lower-cased. */
function matchValue(key: string): (r: ServerResource) => string | null {
  if (key === WORK_EMAIL) return (r) => workEmail(r)?.toLowerCase() ?? null;
  const path = parsePath(key);
  return (r) => {
    const v = readPath(r, path);
    return typeof v === 'string' && v !== '' ? v.toLowerCase() : typeof v === 'number' ? String(v) : null;
  };
}

export class AccountIndex {
  private ids?: Map<string, ServerResource>;
  private externalIds?: Map<string, ServerResource[]>;
  private readonly byAttribute = new Map<string, Map<string, ServerResource[]>>();

  constructor(private readonly actual: readonly ServerResource[]) {}

  /** Accounts by SCIM id; built on first use (a cycle whose people were all settled while listing asks none). */
  get byId(): ReadonlyMap<string, ServerResource> {
    if (!this.ids) {
      this.ids = new Map();
      for (const r of this.actual) if (typeof r['id'] === 'string') this.ids.set(r['id'], r);
    }
    return this.ids;
  }

  private build(key: (r: ServerResource) => string | null): Map<string, ServerResource[]> {
    const map = new Map<string, ServerResource[]>();
    for (const r of this.byId.values()) {
      const k = key(r);
      if (k === null) continue;
      const list = map.get(k);
      if (list) list.push(r);
      else map.set(k, [r]);
    }
    return map;
  }

  /** Accounts carrying this externalId (compared exactly: it is scim-sync's own key). */
  withExternalId(key: string): readonly ServerResource[] {
    this.externalIds ??= this.build((r) => (typeof r['externalId'] === 'string' && r['externalId'] !== '' ? r['externalId'] : null));
    return this.externalIds.get(key) ?? NONE;
  }

  /** Accounts whose value of a matching attribute (a path key) is this one, ignoring case. */
  withValue(key: string, value: string): readonly ServerResource[] {
    let map = this.byAttribute.get(key);
    if (!map) {
      map = this.build(matchValue(key));
      this.byAttribute.set(key, map);
    }
    return map.get(value.toLowerCase()) ?? NONE;
  }

  get size(): number {
    return this.actual.length;
  }
}
