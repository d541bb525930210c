/**
 * A saved plan's text: the plan as JSON, redacted, and a digest of exactly that content, which
 * `apply` checks before it trusts a single operation. The plan says what each write sends (its
 * PATCH operations, its PUT body) beside what it means (the changes a reader reviews): a file
 * edited by hand, or damaged in a copy, could send what no review saw. The digest is not a
 * signature: it stops accidents and quiet edits, not someone who recomputes it.
 */
import { createHash } from 'node:crypto';
import { holdsSecret, holdsSecretText, parseRedacted } from '../config/secret.js';
import { ConfigError, PlanError } from '../errors.js';
import { checkPlanFile } from '../engine/apply-plan.js';
import type { Plan } from '../model/plan.js';
import { textPieces } from '../model/text-pieces.js';

/** The digest of a JSON text, hashed a piece at a time (a plan of 100,000 creates is some 70 MB of it). */
function digestOfText(json: string): string {
  const hash = createHash('sha256');
  for (const piece of textPieces(json)) hash.update(piece);
  return `sha256:${hash.digest('hex')}`;
}
const digestOf = (content: unknown) => digestOfText(JSON.stringify(content));

/**
 * The file's text, in pieces to write one after the other (planFileText joins them): the plan with
 * every secret redacted from each of its strings (a server's error it quotes may hold one), and the
 * digest of that. What an operation would write is never redacted: changed, it would write
 * "[redacted]" into an app; a plan whose operations hold a secret's text (a token that is also a
 * word in someone's data) is not saved at all.
 */
export function planFile(plan: Plan): readonly string[] {
  // Most plans hold no credential's text anywhere, which one look at the whole JSON says: a string's
  // text is in it as its JSON form, which the redactor knows as one of each credential's forms.
  // Then nothing is refused or redacted, and the digest is of that text (for 100,000 creates, about
  // a second instead of three and a half: the look at every value, and the parse that redacted each).
  const json = JSON.stringify(plan);
  if (!holdsSecret(json)) return fileText(plan, digestOfText(json));
  if (holdsSecretText(plan.targets.map((t) => t.phases))) {
    throw new ConfigError(
      'the plan is not saved: a value one of its operations would write contains the text of a credential scim-sync holds ' +
        '(a token or a header value that is also ordinary data); saved redacted, it would write "[redacted]" into the app',
    );
  }
  const content = parseRedacted(json) as Plan;
  return fileText(content, digestOf(content));
}

export const planFileText = (plan: Plan): string => planFile(plan).join('');

/** The JSON and its closing line break apart: joined, a text of a hundred megabytes would be copied whole once more. */
const fileText = (content: Plan, digest: string) => [JSON.stringify({ ...content, digest }, null, 2), '\n'];

/**
 * A saved plan, checked: its shape first (what is damaged, named by where), then its digest
 * against what it holds; a PlanError (exit 2) for either.
 */
export function checkSavedPlan(data: unknown, file: string): Plan {
  const digest = isPlainObject(data) ? data['digest'] : undefined;
  const content = isPlainObject(data) ? Object.fromEntries(Object.entries(data).filter(([k]) => k !== 'digest')) : data;
  const plan = checkPlanFile(content, file);
  if (typeof digest !== 'string') throw new PlanError(`${file} has no digest (made by an older scim-sync, or not by plan --out): make a new plan`);
  if (digest !== digestOf(content)) {
    throw new PlanError(`${file} was changed after it was made (its digest no longer matches what it holds): make a new plan, and review that one`);
  }
  return plan;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
