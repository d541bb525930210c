/** Name patterns for group selection: `*` matches any run of characters; case is ignored. */
export type NameMatcher = (name: string) => boolean;

export function compilePatterns(patterns: readonly string[]): NameMatcher {
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i'));
  return (name) => res.some((re) => re.test(name));
}

export function compileSelection(include: readonly string[], exclude: readonly string[]): NameMatcher {
  const inc = compilePatterns(include);
  const exc = compilePatterns(exclude);
  return (name) => inc(name) && !exc(name);
}
