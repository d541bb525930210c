/** What a server says it supports (ServiceProviderConfig, RFC 7643 §5), read defensively. */
import type { JsonObject } from '../../model/scim.js';

export interface ScimCapabilities {
  patch: boolean;
  bulk: { supported: boolean; maxOperations: number; maxPayloadSize: number };
  filter: { supported: boolean; maxResults: number | null };
  etag: boolean;
  sort: boolean;
  /** True when the answer came from the server, false when assumed. */
  discovered: boolean;
}

/** What we assume of a server without a ServiceProviderConfig: PATCH (as Entra and Okta do) and filters. */
export const DEFAULT_CAPABILITIES: ScimCapabilities = {
  patch: true,
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: null },
  etag: false,
  sort: false,
  discovered: false,
};

function section(doc: JsonObject | null, name: string): JsonObject {
  const v = doc?.[name];
  return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

/** Booleans arrive as strings from some servers. */
function flag(v: unknown, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.toLowerCase() === 'true';
  return fallback;
}

function num(v: unknown): number | null {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null;
}

export function parseCapabilities(doc: JsonObject | null): ScimCapabilities {
  const bulk = section(doc, 'bulk');
  const filter = section(doc, 'filter');
  return {
    patch: flag(section(doc, 'patch')['supported'], DEFAULT_CAPABILITIES.patch),
    bulk: {
      supported: flag(bulk['supported'], false),
      maxOperations: num(bulk['maxOperations']) ?? 0,
      maxPayloadSize: num(bulk['maxPayloadSize']) ?? 0,
    },
    filter: { supported: flag(filter['supported'], true), maxResults: num(filter['maxResults']) },
    etag: flag(section(doc, 'etag')['supported'], false),
    sort: flag(section(doc, 'sort')['supported'], false),
    discovered: doc !== null,
  };
}
