/**
 * The one place a source config becomes its change feed for `scim-sync serve`, or none (its
 * `changes.enabled` is false, or LDAP's `changes.mode` is off): then only full cycles sync it. A source's
 * absent `changes:` means the feed with its defaults.
 *
 * Joined sources: the primary's feed only. It names the primary's people, each read again through
 * the join (every source), so a change in the primary brings the secondaries' current values along;
 * a change only a secondary sees reaches the targets at the next full cycle (schedule.cron), as
 * `serve` says when it starts.
 */
import type { SafetyConfig, SourceConfig, SourceSetup } from '../config/schema/index.js';
import type { FeedTokenStore } from '../state/feed-tokens.js';
import type { ChangeFeed } from './change-feed.js';
import { CsvChangeFeed } from './csv/csv-change-feed.js';
import { GoogleChangeFeed } from './google/google-change-feed.js';
import { LdapChangeFeed, ldapChangeMode } from './ldap/ldap-change-feed.js';

/** The feed's name: its position's key in the token store, and its label in logs and metrics. */
export const SOURCE_FEED = 'source';

export function createChangeFeed(setup: SourceSetup, safety: SafetyConfig, tokens: FeedTokenStore): { name: string; feed: ChangeFeed } | undefined {
  return sourceFeed(setup.type === 'joined' ? setup.sources[setup.join.primary]! : setup, safety, tokens);
}

function sourceFeed(config: SourceConfig, safety: SafetyConfig, tokens: FeedTokenStore): { name: string; feed: ChangeFeed } | undefined {
  switch (config.type) {
    case 'csv':
      if (config.changes?.enabled === false) return undefined;
      return { name: SOURCE_FEED, feed: new CsvChangeFeed(config, tokens, SOURCE_FEED, { minSourceUsers: safety.minSourceUsers }) };
    case 'google':
      if (config.changes?.enabled === false) return undefined;
      return { name: SOURCE_FEED, feed: new GoogleChangeFeed(config, tokens, SOURCE_FEED) };
    case 'ldap':
      if (ldapChangeMode(config) === 'off') return undefined;
      return { name: SOURCE_FEED, feed: new LdapChangeFeed(config, tokens, SOURCE_FEED) };
  }
}
