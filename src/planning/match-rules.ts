/**
 * Matching rules: which attributes recognise an account as a person's when no link does, in order
 * after externalId, and which of them may adopt an account scim-sync does not manage. A target's
 * `match` says so; without it, `adopt` stands for the rules it always meant.
 */
import { parsePath } from '../model/scim-paths.js';
import type { TargetSettings } from './target-settings.js';

export const WORK_EMAIL = 'emails[type eq "work"].value';

export interface MatchRules {
  /** Path keys, in order, externalId left out (it always comes first). */
  readonly on: readonly string[];
  readonly adopt: ReadonlySet<string>;
  /** Written as `match` (hints name match.adopt) rather than implied by `adopt`. */
  readonly explicit: boolean;
}

const LEGACY: Record<TargetSettings['adopt'], { on: string[]; adopt: string[] }> = {
  none: { on: ['userName'], adopt: [] },
  userName: { on: ['userName'], adopt: ['userName'] },
  email: { on: [WORK_EMAIL, 'userName'], adopt: [WORK_EMAIL] },
};

export function matchRules(settings: Pick<TargetSettings, 'adopt' | 'match'>): MatchRules {
  const written = settings.match;
  const rules = written ?? LEGACY[settings.adopt];
  return {
    on: rules.on.map((p) => parsePath(p).key).filter((k) => k !== 'externalId'),
    adopt: new Set(rules.adopt.map((p) => parsePath(p).key)),
    explicit: written !== undefined,
  };
}

/** What a create may adopt on a 409 (the executor looks the account up by it): userName, else the work email. */
export function adoptByOf(rules: MatchRules): 'userName' | 'email' | null {
  if (rules.adopt.has('userName')) return 'userName';
  if (rules.adopt.has(WORK_EMAIL)) return 'email';
  return null;
}
