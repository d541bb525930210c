import { expect } from 'vitest';
import { ConfigError } from '../../src/errors.js';

/** The problems a config load reports (empty when it loads): every test of config errors uses it. */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  return [];
}
