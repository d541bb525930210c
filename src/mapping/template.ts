/**
 * Mapping templates: literal text with `{attribute}` and `{attribute | fn | fn}` placeholders.
 * Compiled once per target, evaluated per user. `{{` and `}}` are literal braces. A multi-valued
 * attribute gives its first value, or the one `{attribute[i]}` names (0-based: `{email[1]}` is the
 * second); `evaluateEach` gives one result per value.
 *
 * Contract: the result is null when every referenced attribute is empty (so an unmapped value stays
 * absent rather than becoming ""); otherwise empty placeholders become "" and runs of spaces left
 * behind collapse, so `{givenName} {familyName}` of a mononymous person is just the one name. The
 * result is then a mapped text (mapped-text.ts): trimmed, and null when only white space is left.
 */
import type { SourceValue } from '../model/canonical.js';
import { distinct } from './distinct.js';
import { mappedText } from './mapped-text.js';

type Transform = (value: string) => string;

/** The functions a placeholder may pipe through; names are part of the config format. */
const TRANSFORMS: Record<string, Transform> = {
  lower: (v) => v.toLowerCase(),
  upper: (v) => v.toUpperCase(),
  trim: (v) => v.trim(),
  // Drop diacritics (é -> e, ß stays): for systems that only take ASCII userNames.
  ascii: (v) => v.normalize('NFKD').replace(/[\u0300-\u036f]/g, ''),
  nospace: (v) => v.replace(/\s+/g, ''),
  localpart: (v) => v.split('@')[0] ?? v,
};

/** `index` null: not indexed (the first value). */
type Part = { text: string } | { attribute: string; index: number | null; transforms: Transform[] };

const INDEXED = /^(.+?)\s*\[\s*(\d+)\s*\]$/;

/** The value a placeholder reads: the index-th of a list, a single value as the 0th. */
function pick(raw: SourceValue | undefined, index: number | null): string | null {
  if (Array.isArray(raw)) return raw[index ?? 0] ?? null;
  return !index ? (raw ?? null) : null;
}

export interface CompiledTemplate {
  readonly source: string;
  /** Attributes it reads: a mapping is only active when the source provides one of them. */
  readonly attributes: readonly string[];
  readonly type: 'text';
  evaluate(attributes: Readonly<Record<string, SourceValue>>): string | null;
  /**
   * One result per value of the single attribute the template reads (which must not be indexed),
   * empty results and repeats left out, in source order. Throws when the template reads any other.
   */
  evaluateEach(attributes: Readonly<Record<string, SourceValue>>): string[];
}

export function compileTemplate(source: string): CompiledTemplate {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '{' && source[i + 1] === '{') {
      text += '{';
      i += 2;
    } else if (ch === '}' && source[i + 1] === '}') {
      text += '}';
      i += 2;
    } else if (ch === '{') {
      const end = source.indexOf('}', i);
      if (end === -1) throw new Error(`unclosed "{" at position ${i + 1}`);
      const [placeholder, ...fns] = source.slice(i + 1, end).split('|').map((s) => s.trim());
      if (!placeholder) throw new Error(`empty placeholder at position ${i + 1}`);
      const indexed = INDEXED.exec(placeholder);
      const name = indexed ? indexed[1]! : placeholder;
      const transforms = fns.map((fn) => {
        const t = TRANSFORMS[fn];
        if (!t) throw new Error(`unknown function "${fn}" (known: ${Object.keys(TRANSFORMS).join(', ')})`);
        return t;
      });
      if (text) parts.push({ text });
      text = '';
      parts.push({ attribute: name, index: indexed ? Number(indexed[2]) : null, transforms });
      i = end + 1;
    } else if (ch === '}') {
      throw new Error(`unmatched "}" at position ${i + 1}`);
    } else {
      text += ch;
      i++;
    }
  }
  if (text) parts.push({ text });
  const attributes = parts.flatMap((p) => ('attribute' in p ? [p.attribute] : []));
  const single = parts.length === 1 && 'attribute' in parts[0]! ? parts[0] : undefined;
  let template: CompiledTemplate;
  const evaluateEach = (values: Readonly<Record<string, SourceValue>>): string[] => {
    if (new Set(attributes).size !== 1 || parts.some((p) => 'attribute' in p && p.index !== null)) {
      throw new Error(`"${source}" must read exactly one attribute, without an index, to give one value per source value`);
    }
    const name = attributes[0]!;
    const raw = values[name];
    const out: string[] = [];
    for (const one of Array.isArray(raw) ? raw : raw === null || raw === undefined ? [] : [raw]) {
      const v = template.evaluate({ [name]: one });
      if (v !== null) out.push(v);
    }
    return distinct(out);
  };
  // `{attribute}` alone is most of every mapping: skip the general path for it.
  if (single && single.transforms.length === 0 && single.index === null) {
    const name = single.attribute;
    template = {
      source,
      attributes,
      type: 'text',
      evaluate(values) {
        const raw = values[name];
        return mappedText(Array.isArray(raw) ? raw[0] : raw);
      },
      evaluateEach,
    };
    return template;
  }

  template = {
    source,
    attributes,
    type: 'text',
    evaluateEach,
    evaluate(values) {
      if (attributes.length === 0) return mappedText(parts.map((p) => ('text' in p ? p.text : '')).join(''));
      let any = false;
      let out = '';
      for (const part of parts) {
        if ('text' in part) {
          out += part.text;
          continue;
        }
        // A multi-valued attribute contributes its first value (the primary one by convention) unless indexed.
        let v = pick(values[part.attribute], part.index);
        if (v === null || v === '') continue;
        for (const t of part.transforms) v = t(v);
        if (v !== '') any = true;
        out += v;
      }
      if (!any) return null;
      return mappedText(single ? out : out.replace(/ {2,}/g, ' '));
    },
  };
  return template;
}
