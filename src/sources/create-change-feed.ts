/**
 * The one place a source config becomes its change feed for `scim-sync serve`, or none (its
 * `changes.enabled` is false, or `changes.mode: off`): then only full cycles sync it. A source's
 * absent `changes:` means the feed with its defaults.
 */
import type { SafetyConfig, SourceConfig } from '../config/schema/index.js';
import type { FeedTokenStore } from '../state/feed-tokens.js';
import type { ChangeFeed } from './change-feed.js';
import { CsvChangeFeed } from './csv/csv-change-feed.js';
import { GoogleChangeFeed } from './google/google-change-feed.js';

/** The feed's name: its position's key in the token store, and its label in logs and metrics. */
export const SOURCE_FEED = 'source';

export function createChangeFeed(config: SourceConfig, safety: SafetyConfig, tokens: FeedTokenStore): { name: string; feed: ChangeFeed } | undefined {
  if (config.changes?.enabled === false) return undefined;
  switch (config.type) {
    case 'csv':
      return { name: SOURCE_FEED, feed: new CsvChangeFeed(config, tokens, SOURCE_FEED, { minSourceUsers: safety.minSourceUsers }) };
    case 'google':
      return { name: SOURCE_FEED, feed: new GoogleChangeFeed(config, tokens, SOURCE_FEED) };
    case 'ldap':
      return undefined;
  }
}
