/** targets.<name>.quirks: overrides of the vendor profile, key by key. */
import * as z from 'zod';
import { FILTER_OPERATORS, PATCH_SHAPES, type QuirkOverrides } from '../profiles.js';
import { positiveInt } from './numbers.js';
import { rateLimit } from './rate-limit.js';

export const quirks = z
  .object({
    maxMembersPerPatch: positiveInt.nullable().optional().describe('Most member changes per group PATCH; null = no limit. Profile default.'),
    groupMembersInList: z.boolean().optional().describe('false: the server returns group members neither in lists nor in a GET of one group; membership is asked per group and linked user with an id-and-members filter. Profile default.'),
    maxPageSize: positiveInt.nullable().optional().describe('Largest list page the server answers (caps pageSize); null = no cap. Profile default.'),
    filterOperators: z.array(z.enum(FILTER_OPERATORS)).optional().describe('Filter operators the server supports. Profile default: all.'),
    userNameCaseExact: z.boolean().optional().describe('true: the server compares userName case-sensitively. Default false.'),
    patchShape: z
      .enum(PATCH_SHAPES)
      .optional()
      .describe(
        'rfc: one op per path. sub-attribute: a complex replace as one op per sub-attribute (manager.value). ' +
          'value-object: replaces folded into one pathless op. A shape learned for an attribute takes precedence. Default rfc.',
      ),
    supportsDelete: z.boolean().optional().describe('false: no DELETE; deprovision: delete deactivates instead. Default true.'),
    headers: z.record(z.string(), z.string()).optional().describe('Extra headers sent with every request. Merged over the profile\'s.'),
    rateLimit: rateLimit.nullable().optional().describe('Default request budget when the target sets no rateLimit; null = unlimited.'),
    createRateLimit: rateLimit.nullable().optional().describe('Budget for user creations alone (github: 1000 per 3600000 ms).'),
    startIndex: z.enum(['one-based', 'zero-based', 'ignored']).optional().describe('How the server counts startIndex. Default one-based.'),
    totalResults: z.enum(['exact', 'unreliable']).optional().describe('unreliable: end listings on a short page only. Default exact.'),
    etag: z.enum(['auto', 'off']).optional().describe('auto: If-Match when the server supports ETags. Default auto.'),
    bulk: z
      .enum(['auto', 'off'])
      .optional()
      .describe('auto: user writes go in /Bulk requests (sized to the server\'s limits) when the server supports Bulk. Default off.'),
  })
  .strict();

// The config's quirks are exactly the overridable keys of a profile.
const _quirksFit: QuirkOverrides = {} as z.output<typeof quirks>;
void _quirksFit;
