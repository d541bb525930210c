import { isPlainObject, resolvePath } from './attribute-path.js';
import type { AttrRef } from './attribute-path.js';
import type { ResourceTypeDef } from './attribute-schema.js';
import type { SandboxBehaviour } from './behaviour.js';
import { badRequest } from './errors.js';
import type { StoredRecord } from './resource-store.js';
import type { JsonObject, JsonValue } from '../model/scim.js';

/**
 * List parameters (RFC 7644 §3.4.2) from a query string or a /.search body, and sorting.
 * Paging rules: startIndex is 1-based and below 1 means 1; count below 0 means 0 and above
 * maxPageSize is capped, so itemsPerPage always reports what was really returned.
 */

export const SCHEMA_SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

export interface ListQuery {
  readonly filter?: string;
  readonly startIndex: number;
  readonly count: number;
  readonly sortBy?: string;
  readonly sortOrder: 'ascending' | 'descending';
  readonly attributes?: string;
  readonly excludedAttributes?: string;
}

type PagingBehaviour = Pick<SandboxBehaviour, 'maxPageSize' | 'defaultPageSize'>;

export function listQueryFromParams(params: URLSearchParams, behaviour: PagingBehaviour): ListQuery {
  return build(
    {
      filter: params.get('filter') ?? undefined,
      startIndex: integerParam('startIndex', params.get('startIndex')),
      count: integerParam('count', params.get('count')),
      sortBy: params.get('sortBy') ?? undefined,
      sortOrder: params.get('sortOrder') ?? undefined,
      attributes: params.get('attributes') ?? undefined,
      excludedAttributes: params.get('excludedAttributes') ?? undefined,
    },
    behaviour,
  );
}

/** A POST .search body (RFC 7644 §3.4.3). */
export function listQueryFromSearchBody(body: JsonValue, behaviour: PagingBehaviour): ListQuery {
  if (!isPlainObject(body)) throw badRequest('invalidSyntax', 'search body must be a JSON object');
  const get = (name: string): JsonValue | undefined => {
    const key = Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : body[key];
  };
  const schemas = get('schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA_SEARCH_REQUEST.toLowerCase())) {
    throw badRequest('invalidSyntax', `search body "schemas" must be ["${SCHEMA_SEARCH_REQUEST}"]`);
  }
  return build(
    {
      filter: stringField('filter', get('filter')),
      startIndex: integerField('startIndex', get('startIndex')),
      count: integerField('count', get('count')),
      sortBy: stringField('sortBy', get('sortBy')),
      sortOrder: stringField('sortOrder', get('sortOrder')),
      attributes: listField('attributes', get('attributes')),
      excludedAttributes: listField('excludedAttributes', get('excludedAttributes')),
    },
    behaviour,
  );
}

interface RawQuery {
  filter: string | undefined;
  startIndex: number | undefined;
  count: number | undefined;
  sortBy: string | undefined;
  sortOrder: string | undefined;
  attributes: string | undefined;
  excludedAttributes: string | undefined;
}

function build(raw: RawQuery, behaviour: PagingBehaviour): ListQuery {
  const order = raw.sortOrder?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') {
    throw badRequest('invalidValue', `sortOrder must be "ascending" or "descending", got "${raw.sortOrder}"`);
  }
  const requested = raw.count ?? behaviour.defaultPageSize;
  return {
    ...(raw.filter !== undefined && raw.filter.trim() !== '' ? { filter: raw.filter } : {}),
    startIndex: Math.max(1, raw.startIndex ?? 1),
    count: Math.min(Math.max(0, requested), behaviour.maxPageSize),
    ...(raw.sortBy ? { sortBy: raw.sortBy } : {}),
    sortOrder: order === 'descending' ? 'descending' : 'ascending',
    ...(raw.attributes ? { attributes: raw.attributes } : {}),
    ...(raw.excludedAttributes ? { excludedAttributes: raw.excludedAttributes } : {}),
  };
}

/**
 * Records sorted by `sortBy` (RFC 7644 §3.4.2.3): multi-valued attributes sort by their primary
 * (else first) value; missing values go last ascending and first descending; ties keep creation order.
 */
export function sortRecords(records: StoredRecord[], rt: ResourceTypeDef, sortBy: string, order: 'ascending' | 'descending'): StoredRecord[] {
  const ref = resolvePath(rt, sortBy, (detail) => badRequest('invalidValue', `sortBy: ${detail}`));
  if (ref.kind !== 'attribute') throw badRequest('invalidValue', `sortBy must name an attribute, not the schema ${ref.extension}`);
  let target: AttrRef = ref;
  if (!ref.sub && ref.attr.type === 'complex') {
    const value = ref.attr.subIndex?.get('value');
    if (!ref.attr.multiValued || !value) throw badRequest('invalidValue', `sortBy must name a sub-attribute of ${ref.attr.name}, e.g. ${ref.attr.name}.${ref.attr.subAttributes?.[0]?.name ?? 'value'}`);
    target = { ...ref, sub: value };
  }
  const def = target.sub ?? target.attr;
  const sign = order === 'descending' ? -1 : 1;
  const keyed = records.map((rec) => ({ rec, key: sortKey(rec.resource, target, def.type === 'string' || def.type === 'reference' ? !def.caseExact : false, def.type === 'dateTime') }));
  keyed.sort((a, b) => sign * compareKeys(a.key, b.key));
  return keyed.map((k) => k.rec);
}

type Key = string | number | boolean | undefined;

function sortKey(resource: JsonObject, ref: AttrRef, fold: boolean, isDate: boolean): Key {
  const container = ref.extension ? resource[ref.extension] : resource;
  if (!isPlainObject(container)) return undefined;
  let value = container[ref.attr.name];
  if (Array.isArray(value)) value = value.find((el) => isPlainObject(el) && el.primary === true) ?? value[0];
  if (ref.sub) value = isPlainObject(value) ? value[ref.sub.name] : undefined;
  if (typeof value === 'string') {
    if (isDate) return Date.parse(value);
    return fold ? value.toLowerCase() : value;
  }
  return typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
}

function compareKeys(a: Key, b: Key): number {
  if (a === undefined || (typeof a === 'number' && Number.isNaN(a))) return b === undefined ? 0 : 1;
  if (b === undefined || (typeof b === 'number' && Number.isNaN(b))) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function integerParam(name: string, raw: string | null): number | undefined {
  if (raw === null || raw.trim() === '') return undefined;
  if (!/^\s*-?\d+\s*$/.test(raw)) throw badRequest('invalidValue', `${name} must be an integer, got "${raw}"`);
  return Number(raw);
}

function integerField(name: string, raw: JsonValue | undefined): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return integerParam(name, raw);
  if (typeof raw !== 'number' || !Number.isInteger(raw)) throw badRequest('invalidValue', `${name} must be an integer`);
  return raw;
}

function stringField(name: string, raw: JsonValue | undefined): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw badRequest('invalidValue', `${name} must be a string`);
  return raw;
}

function listField(name: string, raw: JsonValue | undefined): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw.join(',');
  throw badRequest('invalidValue', `${name} must be an array of attribute names`);
}
