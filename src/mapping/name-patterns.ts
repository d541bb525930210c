/** Name patterns for group selection: `*` matches any run of characters; case is ignored. */
export type NameMatcher = (name: string) => boolean;

/**
 * One pattern as a matcher. Matched by its literal parts, in order, each at its first place after
 * the previous one (which is where a run of `*` between them loses nothing), not by a regular
 * expression: `.*` between parts backtracked (a pattern with a few `*` against a long group name
 * from the source took seconds). The same answers as `^part.*part$` with the `i` flag: both sides
 * compared as that flag canonicalises them, and `*` does not span a line break, as `.` does not.
 */
function compilePattern(pattern: string): NameMatcher {
  if (LINE_TERMINATOR.test(pattern)) {
    // Only an odd config names a line break in a pattern: matched as written.
    const re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
    return (name) => re.test(name);
  }
  const parts = pattern.split('*').map(canonical);
  const head = parts[0]!;
  const tail = parts[parts.length - 1]!;
  if (parts.length === 1) return (name) => canonical(name) === head;
  if (parts.every((part) => part === '')) return (name) => !LINE_TERMINATOR.test(name);
  return (raw) => {
    // Nothing in the pattern can match a line break: a name holding one matches none.
    if (LINE_TERMINATOR.test(raw)) return false;
    const name = canonical(raw);
    if (name.length < head.length + tail.length || !name.startsWith(head) || !name.endsWith(tail)) return false;
    const end = name.length - tail.length;
    let at = head.length;
    for (let i = 1; i < parts.length - 1; i++) {
      const found = name.indexOf(parts[i]!, at);
      if (found === -1 || found + parts[i]!.length > end) return false;
      at = found + parts[i]!.length;
    }
    return true;
  };
}

const LINE_TERMINATOR = /[\n\r\u2028\u2029]/;

/** Text as a case-insensitive regular expression without the `u` flag compares it (ECMA-262 Canonicalize, unit by unit). */
function canonical(text: string): string {
  if (/^[\x00-\x7f]*$/.test(text)) return text.toUpperCase();
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text[i]!;
    const upper = unit.toUpperCase();
    out += upper.length !== 1 || (unit.charCodeAt(0) >= 128 && upper.charCodeAt(0) < 128) ? unit : upper;
  }
  return out;
}

export function compilePatterns(patterns: readonly string[]): NameMatcher {
  const matchers = patterns.map(compilePattern);
  return (name) => matchers.some((m) => m(name));
}

export function compileSelection(include: readonly string[], exclude: readonly string[]): NameMatcher {
  const inc = compilePatterns(include);
  const exc = compilePatterns(exclude);
  return (name) => inc(name) && !exc(name);
}
