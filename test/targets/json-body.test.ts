/**
 * A large list page parsed from its bytes in parts gives what JSON.parse of the whole text gives,
 * and fails where it fails: the parts are cut only where the cutting is sure of the shape.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cutResources, isBlank, parseJsonBody } from '../../src/targets/http/json-body.js';

/** Resources enough to pass the size from which a body is cut (96 KiB). */
const many = (n = 600) =>
  Array.from({ length: n }, (_, i) => ({
    id: `id-${i}`,
    userName: `user${i}@example.com`,
    // Brackets, braces, commas, quotes and backslashes inside strings must not move the cuts.
    displayName: i % 7 === 0 ? `Ann "the [boss]" {O'Neil}, \\ ${i} \\\\` : `Ann ${i}`,
    title: i % 5 === 0 ? 'Ingénieure 王伟 😀' : 'Engineer',
    emails: [{ value: `user${i}@example.com`, primary: true }],
    groups: i % 3 === 0 ? [] : [{ value: `g${i}`, display: `]},{"x":[` }],
    active: i % 2 === 0,
    meta: { n: i, f: 1.5e3, nul: null },
  }));

const page = (resources: unknown[], extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
  totalResults: resources.length,
  ...extra,
  Resources: resources,
  itemsPerPage: resources.length,
  startIndex: 1,
});

/** The outcome of parsing, as a value: what it gave, or the kind of error it threw. */
const outcome = (parse: () => unknown) => {
  try {
    return { value: parse() };
  } catch (error) {
    return { threw: (error as Error).constructor.name };
  }
};
const same = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  const ours = outcome(() => parseJsonBody(bytes));
  const theirs = outcome(() => JSON.parse(text));
  return isDeepStrictEqual(ours, theirs) ? true : { ours: JSON.stringify(ours).slice(0, 300), theirs: JSON.stringify(theirs).slice(0, 300) };
};

describe('parseJsonBody', () => {
  it('a large page gives what JSON.parse of its text gives, key order included, however it is spaced', () => {
    const body = page(many());
    const compact = JSON.stringify(body);
    expect(compact.length).toBeGreaterThan(96 * 1024);
    // Cut, not parsed whole: one pair of offsets per resource.
    expect(cutResources(Buffer.from(compact))?.elements.length).toBe(1200);
    expect(same(compact)).toBe(true);
    expect(same(JSON.stringify(body, null, 2))).toBe(true);
    expect(same(`\r\n\t ${JSON.stringify(body, null, '\t')} \n`)).toBe(true);
    const parsed = parseJsonBody(Buffer.from(compact)) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['schemas', 'totalResults', 'Resources', 'itemsPerPage', 'startIndex']);
    expect((parsed['Resources'] as unknown[]).length).toBe(600);
  });

  it('an empty Resources, Resources first or last, a large member beside it, and escapes in keys', () => {
    const filler = 'x'.repeat(100 * 1024);
    expect(same(JSON.stringify({ Resources: [], filler }))).toBe(true);
    expect(same(JSON.stringify({ Resources: many(), totalResults: 600 }))).toBe(true);
    expect(same(JSON.stringify({ totalResults: 600, filler: `"Resources": [1]`, Resources: many() }))).toBe(true);
    expect(same(`{"a\\"Resources":1,${JSON.stringify(page(many())).slice(1)}`)).toBe(true);
  });

  it('shapes it does not cut are parsed whole: a second Resources (also spelt with an escape), elements that are not objects, an array body', () => {
    const resources = JSON.stringify(many());
    expect(same(`{"Resources":${resources},"Resources":[]}`)).toBe(true);
    expect(same(`{"Resources":${resources},"Resourc\\u0065s":[{"id":"later"}]}`)).toBe(true);
    expect(same(`{"Resources":[1,${resources.slice(1)}}`)).toBe(true);
    expect(same(`{"Resources":["a",${resources.slice(1)}}`)).toBe(true);
    expect(same(`{"Resources":{"a":${resources}}}`)).toBe(true);
    expect(same(resources)).toBe(true);
  });

  it('what is not JSON fails as JSON.parse fails, wherever the damage is', () => {
    const text = JSON.stringify(page(many()));
    const at = (needle: string) => text.indexOf(needle);
    const damaged = [
      `${text.slice(0, at('},{') + 1)} x ${text.slice(at('},{') + 1)}`, // garbage between elements
      `${text.slice(0, at('},{') + 1)},${text.slice(at('},{') + 1)}`, // two commas
      text.replace(/}\],"itemsPerPage"/, '},],"itemsPerPage"'), // a trailing comma
      text.replace('"active":true', '"active":tru'), // inside an element
      text.replace('"totalResults":600', '"totalResults":6 00'), // in the envelope
      `${text}}`, // after the end
      text.slice(0, -1), // cut short
      text.slice(0, at('"userName"') + 5), // cut inside a string
      `\ufeff${text}`, // a byte order mark, which JSON.parse refuses
    ];
    for (const bad of damaged) {
      expect(same(bad)).toBe(true);
      expect(() => parseJsonBody(Buffer.from(bad))).toThrow(SyntaxError);
    }
  });

  it('a compact page is cut where each resource opens as the first did; marks inside a resource, or a resource opening otherwise, are cut again by the walk', () => {
    const compact = JSON.stringify(page(many()));
    expect(cutResources(Buffer.from(compact), true)?.elements.length).toBe(1200);
    // Objects nested in an array, each opening with the resources' first key: "},{"id":" inside resources.
    const nested = JSON.stringify(page(many().map((r, i) => (i % 50 === 0 ? { ...r, items: [{ id: 'a' }, { id: 'b', x: [{ id: 'c' }] }] } : r))));
    expect(cutResources(Buffer.from(nested), true)!.elements.length).toBe(1200 + 2 * 12); // one mark in each of 12 resources
    expect(same(nested)).toBe(true);
    // One resource opening with another key: two resources in one part.
    const mixed = JSON.stringify(page(many().map((r, i) => (i === 300 ? Object.fromEntries([['active', r.active], ...Object.entries(r)]) : r))));
    expect(cutResources(Buffer.from(mixed), true)!.elements.length).toBe(1198);
    expect(same(mixed)).toBe(true);
    // The mark in a string is escaped, so it cannot be found there.
    const quoted = JSON.stringify(page(many().map((r, i) => (i === 10 ? { ...r, displayName: '},{"id":"x"' } : r))));
    expect(cutResources(Buffer.from(quoted), true)?.elements.length).toBe(1200);
    expect(same(quoted)).toBe(true);
  });

  it('invalid UTF-8 inside a string decodes as it would whole', () => {
    const text = JSON.stringify(page(many()));
    const bytes = Buffer.from(text);
    const at = bytes.indexOf('Ann 1"');
    const broken = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xe4, 0xb8]), bytes.subarray(at)]);
    expect(parseJsonBody(broken)).toEqual(JSON.parse(broken.toString('utf8')));
  });

  it('random pages agree with JSON.parse', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = (s: string) => s[Math.floor(random() * s.length)]!;
    const text = () => Array.from({ length: 1 + Math.floor(random() * 12) }, () => pick('ab"\\[]{},: é王\n')).join('');
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.4) return text();
      if (r < 0.5) return Math.floor(random() * 1000) - 500;
      if (r < 0.55) return null;
      if (r < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [text(), value(depth + 1)]));
    };
    for (let round = 0; round < 20; round++) {
      const resources = Array.from({ length: 1500 }, () => ({ id: text(), [text()]: value(0), deep: value(0) }));
      const body = JSON.stringify(page(resources, { [text()]: value(0) }), null, round % 2 === 0 ? undefined : ' ');
      expect(body.length).toBeGreaterThan(96 * 1024);
      expect(cutResources(Buffer.from(body))?.elements.length).toBe(3000);
      expect(same(body)).toBe(true);
    }
  });

  it('small bodies are parsed whole; blank bodies are blank', () => {
    expect(parseJsonBody(Buffer.from('{"Resources":[{"id":"1"}]}'))).toEqual({ Resources: [{ id: '1' }] });
    expect(() => parseJsonBody(Buffer.from('{"Resources":[{"id":"1"},]}'))).toThrow(SyntaxError);
    expect(isBlank(Buffer.from(' \r\n\t'))).toBe(true);
    expect(isBlank(Buffer.alloc(0))).toBe(true);
    expect(isBlank(Buffer.from(' {}'))).toBe(false);
  });
});
