/**
 * The one place a SCIM id becomes part of a URL. An id is whatever string the server chose, and
 * three of them cannot name a resource in a path: "" addresses the collection itself (`/Users/`),
 * and "." and ".." are dot segments that URL parsers, proxies and servers remove, `%2E` encoded or
 * not (RFC 3986 §6.2.2.2 treats them alike), so a write meant for one account would go to
 * `/Users` or to the SCIM root. Such an id is refused, never sent.
 */
import { ProtocolError, type ErrorContext } from '../errors.js';
import type { ResourceType } from './scim-target.js';

/** Whether `id` can be put in a resource path. */
export function addressableId(id: unknown): id is string {
  return typeof id === 'string' && id !== '' && id !== '.' && id !== '..';
}

/** `/Users/<id>` with the id percent-encoded; a ProtocolError (with `ctx`) for an id no path can carry. */
export function resourcePath(type: ResourceType, id: string, ctx: ErrorContext): string {
  if (!addressableId(id)) {
    throw new ProtocolError(`the server's id ${JSON.stringify(id)} cannot be put in a URL (it would address ${id === '' ? `/${type}` : 'another path'}): refused`, {
      ...ctx,
      resource: ctx.resource ?? id,
    });
  }
  return `/${type}/${encodeURIComponent(id)}`;
}
