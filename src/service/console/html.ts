/**
 * HTML built by a tagged template that escapes every value it is given, after the redactor: a
 * person's name from the source, a server's error detail or a log note cannot open a tag, and a
 * credential that slipped into any of them is shown as "[redacted]". Only `Html` values (made by
 * this template) go in unescaped, so markup can nest without a way to pass raw text through.
 */
import { redact } from '../../config/secret.js';

/** Markup made by the `html` tag. Not exported as a class: no other module can make one from raw text. */
class SafeHtml {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

export type Html = SafeHtml;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text made safe for an element's content and for a quoted attribute value, secrets redacted first. */
export function escapeHtml(value: string): string {
  return redact(value).replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return (value as readonly Value[]).map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<td>${name}</td>\``: every value escaped unless it is Html; arrays joined; null, undefined and false render nothing. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/** A query string for a link, each value encoded (the template then escapes the `&`). */
export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
