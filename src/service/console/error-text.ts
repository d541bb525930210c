/**
 * What a console page says of an error, to whom. An internal failure (a 500) only as a reference into
 * the service log, which has its words. A refusal (no such person, a set already decided) in its own
 * words, with two limits:
 *
 * - a quote of the request (errors.ts Quoted) is shown as sent and only the rest passes the
 *   redactor; a message about a request in free words of its own (a person's key) that keeps no
 *   quote apart is not shown at all, only a reference: through the redactor whole, the quote would
 *   tell its sender whether it is, or continues, a secret (html.ts);
 * - a viewer is not shown file paths (the state directory, the source's file): they say where the
 *   service keeps what, which is for those who run it. An operator is.
 */
import { randomBytes } from 'node:crypto';
import { ScimSyncError, describeError, errorWhere } from '../../errors.js';
import { html, quotedText, type Html } from './html.js';

/** A refusal the console words itself (quoting the request with echoed()), with its HTTP status. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: Html,
  ) {
    super(body.text);
  }
}

export interface Audience {
  /** The request named something in free words (a person's key): an unquoting message about it is withheld. */
  freeText: boolean;
  /** A viewer: no file paths. */
  viewer: boolean;
}

/**
 * An absolute file path in a message (`/var/lib/scim-sync/staged`, `csv:/srv/hr/people.csv`), not a
 * URL's path (`https://host/scim/v2`): a slash after a word, a dot or another slash is inside one.
 */
const PATH = /(?<![\w.~/-])\/(?!\/)[^\s"'()<>,;:]*/g;

export function withoutPaths(text: string): string {
  return text.replace(PATH, '…');
}

/** A reference for the service log: short, random, the same in the page and the log line. */
export function errorReference(): string {
  return randomBytes(6).toString('base64url');
}

/** The words of a refusal for this audience; undefined when they are not to be shown (then a reference). */
export function refusalText(error: unknown, to: Audience): Html | undefined {
  if (error instanceof Refusal) return error.body;
  const rest = (text: string) => (to.viewer ? withoutPaths(text) : text);
  const quoted = error instanceof ScimSyncError ? error.quoted : undefined;
  // The target, resource and request it names (`PATCH /Users/…`) are no file's.
  if (error instanceof ScimSyncError && quoted) return html`[${error.code}] ${quotedText(quoted, rest)}${errorWhere(error)}`;
  if (to.freeText) return undefined;
  if (error instanceof ScimSyncError) return html`[${error.code}] ${rest(error.message)}${errorWhere(error)}`;
  return html`${rest(describeError(error))}`;
}

/** refusalText, or a reference when the words are withheld (logged with the words under it). */
export function shownRefusal(error: unknown, to: Audience, log: (line: string) => void): Html {
  const text = refusalText(error, to);
  if (text) return text;
  const ref = errorReference();
  log(`console: refusal ${ref}: ${describeError(error)}`);
  return html`This could not be done; the reason quotes what was asked, so it is not shown here: the service log has it (reference ${ref}).`;
}
