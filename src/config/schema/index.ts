/**
 * The org.yaml schema: the one place every option is declared, documented (default and unit) and
 * validated, one file per section. `scim-sync schema` prints it as JSON Schema for editors.
 *
 * A section whose fields all have defaults is written `.prefault({})`: an absent section is read as
 * `{}` and each field's own default fills it in, so every default is written once, at its field.
 */
import * as z from 'zod';
import { events } from './events.js';
import { join, sourceSetupIssues, sources } from './join.js';
import { lookups } from './lookups.js';
import { notifications } from './notifications.js';
import { quarantine } from './quarantine.js';
import { queue } from './queue.js';
import { safety } from './safety.js';
import { schedule } from './schedule.js';
import { serve } from './serve.js';
import { sourceSchema } from './source.js';
import { audit, state } from './state.js';
import { target } from './target.js';

export { holdsCredential, SECRET_KEYS } from './secret-field.js';
export { sourceSchema } from './source.js';
export { DEFAULT_FAILED_RETENTION_HOURS } from './queue.js';
export { NOTIFICATION_EVENTS } from './notifications.js';
export { EVENT_FORMATS, FORMAT_DEFAULTS, MAX_EVENT_BODY_BYTES, SCHEME_DEFAULTS, SIGNATURE_SCHEMES } from './events.js';
export type { EventFormat, SignatureScheme } from './events.js';

export const configSchema = z
  .object({
    version: z.literal(1).default(1).describe('Config format version.'),
    state: state.prefault({}),
    audit: audit.prefault({}),
    source: sourceSchema.optional().describe('The one source of truth. Several joined: `sources:` with `join:` instead.'),
    sources: sources.optional(),
    join: join.optional(),
    safety: safety.prefault({}),
    targets: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'target names use letters, digits, "-" and "_"'), target)
      .refine((t) => Object.keys(t).length > 0, { message: 'at least one target is needed' }),
    queue: queue.optional().describe('Distributed mode (BullMQ on Redis). Default unset: embedded mode.'),
    schedule: schedule
      .optional()
      .describe('When full cycles run: by `scim-sync schedule` (distributed mode) and by `scim-sync serve` (either mode). Default unset.'),
    serve: serve.prefault({}).describe('The long-running service, `scim-sync serve`.'),
    quarantine: quarantine.prefault({}),
    notifications: notifications.prefault({}),
    events: events.optional(),
    lookups,
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const issue of sourceSetupIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  })
  // Inside, one `source`: a single source's config, or the joined sources (checked above).
  .transform(({ source, sources, join, ...rest }) => ({
    ...rest,
    source: source ?? ({ type: 'joined', sources: sources!, join: join! } satisfies JoinedSourceConfig as SourceSetup),
  }));

export type SourceConfig = z.output<typeof sourceSchema>;
export type JoinConfig = z.output<typeof join>;
/** `sources:` with `join:`, as the rest of the code sees it: `config.source` of type `joined`. */
export interface JoinedSourceConfig {
  type: 'joined';
  sources: Record<string, SourceConfig>;
  join: JoinConfig;
}
/** What `config.source` holds: one source, or several joined. */
export type SourceSetup = SourceConfig | JoinedSourceConfig;
export type Config = z.output<typeof configSchema>;
export type CsvSourceConfig = Extract<SourceConfig, { type: 'csv' }>;
export type LdapSourceConfig = Extract<SourceConfig, { type: 'ldap' }>;
export type GoogleSourceConfig = Extract<SourceConfig, { type: 'google' }>;
export type TargetConfig = Config['targets'][string];
export type SafetyConfig = Config['safety'];
export type QueueConfig = NonNullable<Config['queue']>;
export type ScheduleConfig = NonNullable<Config['schedule']>;
export type ServeConfig = Config['serve'];
export type QuarantineConfig = Config['quarantine'];
export type WebhookConfig = Config['notifications']['webhooks'][number];
export type EventEndpointConfig = NonNullable<Config['events']>[string];
export type ScopeFilter = NonNullable<TargetConfig['scope']>[number];
export type MappingRule = TargetConfig['mapping'][string];
/** What planning reads of a target's `groups`; the member checks (verifyMembers*) are the engine's (make-plan.ts). */
export type GroupSettings = Omit<TargetConfig['groups'], 'verifyMembersEvery' | 'verifyMembersPerCycle'>;
export type RoleRule = NonNullable<TargetConfig['roles']>[number];

/** JSON Schema of org.yaml (input form: defaults are optional). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
