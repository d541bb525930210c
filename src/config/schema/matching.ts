/** targets.<name>.match: how an account is recognised as a person's when no link says so. */
import * as z from 'zod';
import { parsePath } from '../../model/scim-paths.js';

const WORK_EMAIL = 'emails[type eq "work"].value';

export const matching = z
  .object({
    on: z
      .array(z.string().min(1))
      .min(1)
      .default(['userName'])
      .describe(
        'SCIM attributes that identify an account as a person\'s when no link does, tried in order after externalId (scim-sync\'s own key, always first): ' +
          `e.g. [userName, '${WORK_EMAIL}']. The first that finds an account decides; one that finds two or more is reported and nothing is done. Default [userName].`,
      ),
    adopt: z
      .array(z.string().min(1))
      .default([])
      .describe('Which of `on` may take over an account scim-sync does not manage; an account found by any other is left alone and reported. Default none.'),
  })
  .strict()
  .superRefine((m, ctx) => {
    /** The path's canonical key, or undefined (with the issue said) when it does not parse. */
    const keyOf = (path: string, at: (string | number)[]): string | undefined => {
      try {
        return parsePath(path).key;
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: at, message: (error as Error).message });
        return undefined;
      }
    };
    const keys: string[] = [];
    m.on.forEach((path, i) => {
      const key = keyOf(path, ['on', i]);
      if (key === undefined) return;
      if (key === 'externalId' && i > 0) ctx.addIssue({ code: 'custom', path: ['on', i], message: "externalId is scim-sync's own key and is always tried first: list it first, or leave it out" });
      if (keys.includes(key)) ctx.addIssue({ code: 'custom', path: ['on', i], message: `${path} is listed twice` });
      keys.push(key);
    });
    m.adopt.forEach((path, i) => {
      const key = keyOf(path, ['adopt', i]);
      if (key === undefined) return;
      if (key === 'externalId') ctx.addIssue({ code: 'custom', path: ['adopt', i], message: "an account carrying a person's externalId is already theirs: there is nothing to adopt by it" });
      else if (!keys.includes(key)) ctx.addIssue({ code: 'custom', path: ['adopt', i], message: `${path} is not in match.on: an account is only adopted by an attribute that matches it` });
    });
  });
