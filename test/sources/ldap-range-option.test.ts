/**
 * The range option of an attribute description (AD's ranged retrieval, `member;range=0-1499`), read
 * as the regular expression it replaced read it, and in time linear in the name however many
 * options a server puts before the range.
 */
import { expect, it } from 'vitest';
import { parseRangeOption } from '../../src/sources/ldap/range.js';

/** The regular expression parseRangeOption used to be (quadratic in the options before the range). */
function byRegex(name: string) {
  const match = /^([^;]+)((?:;[^;]+)*?);range=(\d+)-(\d+|\*)((?:;[^;]+)*)$/i.exec(name);
  if (!match) return null;
  return { attribute: `${match[1]!}${match[2]!}${match[5]!}`.toLowerCase(), low: Number(match[3]), high: match[4] === '*' ? null : Number(match[4]) };
}

it('reads every form as the regular expression did', () => {
  const names = [
    'member',
    'member;range=0-1499',
    'member;range=1500-*',
    'Member;RANGE=0-9',
    'member;binary;range=0-1',
    'member;range=0-1;binary',
    'member;x-a;range=2-*;x-b',
    'member;range=0-1;range=2-3',
    'member;range=a-1',
    'member;range=0-',
    'member;range=0-1x',
    'member;;range=0-1',
    'member;range=0-1;',
    ';range=0-1',
    'range=0-1',
    'member;range=0-1;;x',
    'member;rangex=0-1',
  ];
  for (const name of names) expect(parseRangeOption(name), name).toEqual(byRegex(name));
});

it('a name of 200,000 range options that ends in an empty one is refused in one pass (the regular expression backtracked for minutes)', () => {
  expect(parseRangeOption(`member${';range=1-2'.repeat(200_000)};`)).toBeNull();
  expect(parseRangeOption(`member${';x'.repeat(200_000)};range=0-*`)).toEqual({ attribute: `member${';x'.repeat(200_000)}`, low: 0, high: null });
});
