/**
 * Group name patterns (`*`, case ignored): the answers of the regular expression they used to
 * compile to, for every pattern and name, in time that does not explode with the number of `*`.
 */
import { expect, it } from 'vitest';
import { compilePatterns, compileSelection } from '../../src/mapping/name-patterns.js';

/** The regular expression a pattern used to be. */
const byRegex = (pattern: string, name: string) =>
  new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i').test(name);

it('answers as the regular expression did, case folding and line breaks included', () => {
  const alphabet = ['a', 'A', 'b', '-', '.', 'ß', 'ẞ', '\u212A', 'k', 'K', 'ſ', 's', 'İ', 'i', '\n', '\u2028', '王'];
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const word = (max: number, stars: boolean) => Array.from({ length: next() % max }, () => (stars && next() % 4 === 0 ? '*' : alphabet[next() % alphabet.length])).join('');
  for (let n = 0; n < 30_000; n++) {
    const pattern = word(7, true);
    const name = word(9, false);
    expect(compilePatterns([pattern])(name), `${JSON.stringify(pattern)} ~ ${JSON.stringify(name)}`).toBe(byRegex(pattern, name));
  }
  const select = compileSelection(['eng-*', '*-admins'], ['*-test-*']);
  expect(['Eng-Platform', 'sales-admins', 'eng-test-x', 'marketing'].map(select)).toEqual([true, true, false, false]);
});

it('a pattern with many `*` against a long name answers at once (the expression backtracked for minutes)', () => {
  const name = `${'-'.repeat(20_000)}y`;
  expect(compilePatterns(['*-*-*-*-*-x'])(name)).toBe(false);
  expect(compilePatterns(['*-*-*-*-*-y'])(name)).toBe(true);
});
