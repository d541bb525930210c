/**
 * Whether the answer to a create is the resource that was sent. A gateway that mixes answers, or a
 * server that answers a create with the account it matched, hands back someone else's id: linked to
 * the new person, every later write meant for them (their groups, admins among them) would land on
 * that account. The answer's externalId (exact: it is caseExact) and userName (case-insensitive, RFC
 * 7643 §4.1.1) must be what was sent, where both carry one; a server may leave either out of its answer.
 */
import type { JsonObject } from '../model/scim.js';
import { clip } from '../model/printable.js';

/** What the answer says differently from the body sent ("userName "x", sent "y""), or undefined when nothing. */
export function createdMismatch(sent: JsonObject, answer: JsonObject): string | undefined {
  const differ: string[] = [];
  const compare = (attribute: 'externalId' | 'userName', same: (a: string, b: string) => boolean) => {
    const wanted = sent[attribute];
    const held = answer[attribute];
    if (typeof wanted === 'string' && typeof held === 'string' && !same(wanted, held)) differ.push(`${attribute} "${clip(held, 100)}" (sent "${clip(wanted, 100)}")`);
  };
  compare('externalId', (a, b) => a === b);
  compare('userName', (a, b) => a.toLowerCase() === b.toLowerCase());
  return differ.length > 0 ? differ.join(' and ') : undefined;
}
