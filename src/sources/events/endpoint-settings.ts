/**
 * An events endpoint's config with every default filled in from the per-format and per-scheme
 * tables (config/schema/events.ts): what the handler, the verifier and the parsers read. Pure.
 */
import { FORMAT_DEFAULTS, SCHEME_DEFAULTS, type EventEndpointConfig, type EventFormat, type SignatureScheme } from '../../config/schema/index.js';

export interface SignatureSettings {
  readonly scheme: SignatureScheme;
  /** Lowercase: how node names incoming headers. */
  readonly header: string;
  readonly timestampHeader?: string;
  readonly algorithm: 'sha256' | 'sha512';
  readonly encoding: 'hex' | 'base64';
  readonly toleranceSeconds: number;
}

export interface EndpointSettings {
  readonly name: string;
  readonly format: EventFormat;
  readonly signature: SignatureSettings;
  /** Undefined: the format's default (personio's depends on the event). */
  readonly keyField?: string;
  readonly effectiveAtField?: string;
  readonly dedupMs: number;
}

/** An endpoint as the handler takes it: its config and its name (`events.<name>`). */
export type NamedEventEndpoint = EventEndpointConfig & { readonly name: string };

export function endpointSettings(endpoint: NamedEventEndpoint): EndpointSettings {
  const format = FORMAT_DEFAULTS[endpoint.format];
  const scheme = endpoint.signature.scheme ?? format.scheme;
  const defaults = SCHEME_DEFAULTS[scheme];
  const timestampHeader = endpoint.signature.timestampHeader ?? defaults.timestampHeader;
  return {
    name: endpoint.name,
    format: endpoint.format,
    signature: {
      scheme,
      header: (endpoint.signature.header ?? defaults.header).toLowerCase(),
      ...(timestampHeader ? { timestampHeader: timestampHeader.toLowerCase() } : {}),
      algorithm: scheme === 'scim-sync' ? 'sha256' : (endpoint.signature.algorithm ?? defaults.algorithm ?? 'sha256'),
      encoding: scheme === 'scim-sync' ? 'hex' : (endpoint.signature.encoding ?? defaults.encoding ?? 'hex'),
      toleranceSeconds: endpoint.toleranceSeconds,
    },
    ...(endpoint.keyField !== undefined ? { keyField: endpoint.keyField } : {}),
    ...((endpoint.effectiveAtField ?? format.effectiveAtField) !== undefined ? { effectiveAtField: endpoint.effectiveAtField ?? format.effectiveAtField } : {}),
    dedupMs: endpoint.dedupSeconds * 1000,
  };
}
