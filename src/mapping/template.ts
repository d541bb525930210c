/**
 * Mapping templates: literal text with `{attribute}` and `{attribute | fn | fn}` placeholders.
 * Compiled once per target, evaluated per user. `{{` and `}}` are literal braces.
 *
 * Contract: the result is null when every referenced attribute is empty (so an unmapped value stays
 * absent rather than becoming ""); otherwise empty placeholders become "" and runs of spaces left
 * behind collapse, so `{givenName} {familyName}` of a mononymous person is just the one name.
 */
import type { SourceValue } from '../model/canonical.js';

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

type Part = { text: string } | { attribute: string; transforms: Transform[] };

export interface CompiledTemplate {
  readonly source: string;
  /** Attributes it reads: a mapping is only active when the source provides one of them. */
  readonly attributes: readonly string[];
  evaluate(attributes: Readonly<Record<string, SourceValue>>): string | null;
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
      const [name, ...fns] = source.slice(i + 1, end).split('|').map((s) => s.trim());
      if (!name) throw new Error(`empty placeholder at position ${i + 1}`);
      const transforms = fns.map((fn) => {
        const t = TRANSFORMS[fn];
        if (!t) throw new Error(`unknown function "${fn}" (known: ${Object.keys(TRANSFORMS).join(', ')})`);
        return t;
      });
      if (text) parts.push({ text });
      text = '';
      parts.push({ attribute: name, transforms });
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
  // `{attribute}` alone is most of every mapping: skip the general path for it.
  if (single && single.transforms.length === 0) {
    const name = single.attribute;
    return {
      source,
      attributes,
      evaluate(values) {
        const raw = values[name];
        const v = Array.isArray(raw) ? raw[0] : raw;
        return v === undefined || v === null || v === '' ? null : v;
      },
    };
  }

  return {
    source,
    attributes,
    evaluate(values) {
      if (attributes.length === 0) return source === '' ? null : parts.map((p) => ('text' in p ? p.text : '')).join('');
      let any = false;
      let out = '';
      for (const part of parts) {
        if ('text' in part) {
          out += part.text;
          continue;
        }
        const raw = values[part.attribute];
        // A multi-valued attribute contributes its first value (the primary one by convention).
        let v = Array.isArray(raw) ? (raw[0] ?? null) : (raw ?? null);
        if (v === null || v === '') continue;
        for (const t of part.transforms) v = t(v);
        if (v !== '') any = true;
        out += v;
      }
      if (!any) return null;
      return single ? out : out.replace(/ {2,}/g, ' ').trim();
    },
  };
}
