/**
 * The syntax of an LDAP search filter (RFC 4515), checked when the config loads: a filter the
 * server cannot take fails every read, and one that ldapts reads leniently (`employeeType=x`
 * without its parentheses, a missing closing one) is not what the person who wrote it may think
 * it is. Syntax only: whether the attributes exist is the server's to say.
 *
 * Attribute names are those the LDAP client (ldapts) sends: letters, digits, `-` and `_`, no
 * options (`;binary`) nor numeric OIDs, which it refuses at every read. Values are as the RFC says:
 * `(`, `)`, `*` (outside a substring match) and `\` must be written as `\28`, `\29`, `\2a`, `\5c`.
 */
import * as z from 'zod';

class FilterSyntax extends Error {}

const ATTRIBUTE = /^[\w-]+/;
const OID = /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)/;

class Reader {
  at = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    const found = this.at < this.text.length ? `"${this.text[this.at]}"` : 'the end';
    throw new FilterSyntax(`${what} at character ${this.at + 1}, found ${found}`);
  }

  expect(char: string, what: string): void {
    if (this.text[this.at] !== char) this.fail(what);
    this.at++;
  }

  match(pattern: RegExp): string | null {
    const m = pattern.exec(this.text.slice(this.at));
    if (!m) return null;
    this.at += m[0].length;
    return m[0];
  }

  filter(): void {
    this.expect('(', 'expected "(" (every filter and sub-filter is written in parentheses, e.g. (employeeType=terminated))');
    const op = this.text[this.at];
    if (op === '&' || op === '|') {
      this.at++;
      if (this.text[this.at] !== '(') this.fail(`expected "(" after "${op}" (at least one sub-filter)`);
      while (this.text[this.at] === '(') this.filter();
    } else if (op === '!') {
      this.at++;
      this.filter();
    } else {
      this.item();
    }
    this.expect(')', 'expected ")"');
  }

  /** attr=value, attr~=, attr>=, attr<=, attr=*, a substring, or an extensible match. */
  private item(): void {
    const attribute = this.match(ATTRIBUTE);
    if (this.text[this.at] === ':') {
      if (/^:dn:/i.test(this.text.slice(this.at, this.at + 4))) this.at += 3;
      if (this.text.startsWith(':=', this.at)) {
        if (attribute === null) this.fail('an extensible match without an attribute needs a matching rule');
      } else {
        this.at++;
        if (this.match(OID) === null) this.fail('expected a matching rule (a name or an OID)');
      }
      this.expect(':', 'expected ":="');
      this.expect('=', 'expected ":="');
      this.value(false);
      return;
    }
    if (attribute === null) this.fail('expected an attribute name');
    const type = this.match(/^(=|~=|>=|<=)/);
    if (type === null) this.fail('expected =, ~=, >= or <=');
    this.value(type === '=');
  }

  private value(wildcards: boolean): void {
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined || c === ')') return;
      if (c === '(') this.fail('a "(" in a value must be written \\28');
      if (c === '*' && !wildcards) this.fail('a "*" here must be written \\2a');
      if (c === '\\') {
        if (!/^[0-9A-Fa-f]{2}$/.test(this.text.slice(this.at + 1, this.at + 3))) this.fail('"\\" must start an escape of two hex digits (\\5c for a backslash)');
        this.at += 3;
        continue;
      }
      if (c === '\0') this.fail('a NUL in a value must be written \\00');
      this.at++;
    }
  }
}

/** Why `text` is not one LDAP filter, or null when it is. */
export function ldapFilterProblem(text: string): string | null {
  const reader = new Reader(text);
  try {
    reader.filter();
    if (reader.at < text.length) reader.fail('expected the end of the filter (several filters are joined with (&...) or (|...))');
    return null;
  } catch (error) {
    if (error instanceof FilterSyntax) return `not an LDAP filter: ${error.message}`;
    throw error;
  }
}

/** A config option holding an LDAP filter: its syntax is checked as the config loads. */
export const ldapFilter = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    const problem = ldapFilterProblem(text);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });
