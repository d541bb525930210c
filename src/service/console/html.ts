/**
 * HTML built by a tagged template that escapes every value it is given. Two kinds of text, never to
 * be confused:
 *
 * - what the service holds (a person's name from the source, a server's error detail, a log note):
 *   a plain string, escaped after the redactor, so a credential that slipped into any of them is
 *   shown as "[redacted]";
 * - what the request being answered sent (a search field, a person's key, a staged set's id),
 *   marked `echoed(text)`: escaped only. The redactor scrubs whole secrets and long runs of their
 *   characters, so passing a requester's own text through it answers whether that text is, or
 *   continues, a secret: sent a character at a time, it reads the secret back. Their own text tells
 *   them nothing they did not send.
 *
 * Only `Html` values (made by this template) go in unescaped, so markup can nest without a way to
 * pass raw text through.
 */
import { redact } from '../../config/secret.js';
import type { Quoted } from '../../errors.js';

/** Markup made by the `html` tag. Not exported as a class: no other module can make one from raw text. */
class SafeHtml {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

export type Html = SafeHtml;

/** Text the request being answered sent, shown back to its sender as sent (see above). */
class RequestText {
  constructor(readonly text: string) {}
}

export type Echoed = RequestText;

/** The request's own text (a field, a key, an id, a query made of them): escaped, never redacted. */
export function echoed(text: string): Echoed {
  return new RequestText(text);
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

const escapeMarkup = (text: string): string => text.replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);

/** Text the service holds, made safe for an element's content and for a quoted attribute value, secrets redacted first. */
export function escapeHtml(value: string): string {
  return escapeMarkup(redact(value));
}

type Value = Html | Echoed | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (value instanceof RequestText) return escapeMarkup(value.text);
  if (Array.isArray(value)) return (value as readonly Value[]).map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<td>${name}</td>\``: every value escaped unless it is Html (Echoed: never redacted); arrays joined; null, undefined and false render nothing. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/**
 * An error message that quotes the request (errors.ts Quoted): each quote as sent, the rest, which
 * the service wrote, through `rest` (e.g. taking file paths out for a viewer) and the redactor.
 */
export function quotedText(message: Quoted, rest: (text: string) => string = (t) => t): Html {
  return html`${message.parts.map((p) => (typeof p === 'string' ? rest(p) : echoed(p.asked)))}`;
}

/** A query string for a link, each value encoded (the template then escapes the `&`). Of the request's own values: wrap it in echoed(). */
export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
