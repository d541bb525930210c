/**
 * The one place a source config becomes its change feed for `scim-sync serve`, or none (the
 * source offers no way to learn changes, or its `changes.mode` is off): then only full cycles
 * sync it.
 */
import type { SourceConfig } from '../config/schema/index.js';
import type { FeedTokenStore } from '../state/feed-tokens.js';
import type { ChangeFeed } from './change-feed.js';

export function createChangeFeed(config: SourceConfig, tokens: FeedTokenStore): { name: string; feed: ChangeFeed } | undefined {
  void tokens;
  switch (config.type) {
    case 'csv':
    case 'ldap':
    case 'google':
      return undefined;
  }
}
