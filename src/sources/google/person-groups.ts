/**
 * The groups of one person's read (SourceDirectory.readOne), in the shape narrowSnapshot gives:
 * every group a full read lists, so a managed group that no longer lists the person reads as one
 * they left (they are taken out of it) and not as one gone from the source (left to a cycle); the
 * person as the only known member of the groups they are a direct member of; and, from those
 * groups up, the nesting a full read would find above them, so a target with `groups.nested:
 * flatten` gives them the outer groups too (and takes them out of those they left with an inner
 * one).
 *
 * The Directory API names direct memberships only (groups.list by userKey), so the ancestors are
 * walked: one groups.list by userKey per group the person is in, directly or through nesting,
 * each group asked once however many paths lead to it (a nesting cycle ends). Groups outside the
 * listing (another domain's, with `domain`) are left out on the way, as the full read leaves them.
 *
 * Requests: the listing, ceil(groups / 200) pages; the person's direct groups, one page per 200;
 * one page per 200 parents of each group above them. A few people read by one source (a batch of
 * the service) share the listing and each group's parents: a GoogleSource serves one plan.
 */
import type { CanonicalGroup } from '../../model/canonical.js';
import { DIRECTORY as BASE } from './admin-client.js';
import type { DirectoryApi } from './directory-api.js';

type Json = Record<string, unknown>;

/** A group of the Directory API as the canonical model has it: named by its name, else its address. */
export function canonicalGroup(raw: Json, memberKeys: string[], groupKeys: string[]): CanonicalGroup {
  const id = String(raw['id']);
  const email = typeof raw['email'] === 'string' ? raw['email'] : id;
  return { key: id, displayName: typeof raw['name'] === 'string' && raw['name'] !== '' ? raw['name'] : email, memberKeys, groupKeys, ref: { location: `groups/${email}` } };
}

/** groups.list by userKey: the groups a user or a group is a direct member of. */
function directGroupsOf(api: DirectoryApi, userKey: string): Promise<Json[]> {
  return api.listAll(`${BASE}/groups`, { userKey, maxResults: '200' }, 'groups');
}

export class PersonGroups {
  private listing: Promise<Json[]> | undefined;
  /** Group id -> the groups it is a direct member of, as asked. */
  private readonly parents = new Map<string, Promise<Json[]>>();

  /** `list`: every group the full read lists (its scope and query). */
  constructor(private readonly list: (api: DirectoryApi) => Promise<Json[]>) {}

  /** Every group, with `key` (null: a person not in the source, in none) and the nesting above their groups. */
  async of(api: DirectoryApi, key: string | null): Promise<CanonicalGroup[]> {
    const [listed, direct] = await Promise.all([this.listed(api), key === null ? [] : directGroupsOf(api, key)]);
    const byId = new Map(listed.map((g) => [String(g['id']), g]));
    const theirs = new Set(direct.map((g) => String(g['id'])).filter((id) => byId.has(id)));
    // Outer group id -> the groups inside it on the person's way up.
    const inner = new Map<string, Set<string>>();
    const reached = new Set(theirs);
    for (let level = [...theirs]; level.length > 0; ) {
      const next: string[] = [];
      await Promise.all(
        level.map(async (child) => {
          for (const parent of await this.parentsOf(api, byId.get(child)!)) {
            const id = String(parent['id']);
            if (!byId.has(id)) continue;
            let children = inner.get(id);
            if (!children) inner.set(id, (children = new Set()));
            children.add(child);
            if (!reached.has(id)) {
              reached.add(id);
              next.push(id);
            }
          }
        }),
      );
      level = next;
    }
    return listed.map((g) => {
      const id = String(g['id']);
      return canonicalGroup(g, key !== null && theirs.has(id) ? [key] : [], [...(inner.get(id) ?? [])]);
    });
  }

  private listed(api: DirectoryApi): Promise<Json[]> {
    return (this.listing ??= this.list(api).catch((error: unknown) => {
      // A failed read fails this person's read; the next one asks again.
      this.listing = undefined;
      throw error;
    }));
  }

  /**
   * Asked by the group's address: the API's userKey is documented for a user's address or id, and
   * Google answers a group's address with the groups it is in (as GAM's `print groups member` asks).
   */
  private parentsOf(api: DirectoryApi, group: Json): Promise<Json[]> {
    const id = String(group['id']);
    let asked = this.parents.get(id);
    if (!asked) {
      asked = directGroupsOf(api, typeof group['email'] === 'string' ? group['email'] : id).catch((error: unknown) => {
        this.parents.delete(id);
        throw error;
      });
      this.parents.set(id, asked);
    }
    return asked;
  }
}
