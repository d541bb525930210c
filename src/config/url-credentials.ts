/**
 * Credentials written into a URL: `https://user:pass@host/...` or `?api_key=...`. A URL is printed
 * (by `check`, in errors), logged by proxies and servers, and got sends its userinfo as Basic auth
 * whatever `auth` says; credentials belong in `auth`, where they are secrets.
 */

/** Query parameters that carry a credential, compared without case. */
const CREDENTIAL_PARAMS = new Set([
  'access_token',
  'accesstoken',
  'api_key',
  'api-key',
  'apikey',
  'auth',
  'auth_token',
  'authorization',
  'client_secret',
  'code',
  'jwt',
  'key',
  'passwd',
  'password',
  'pwd',
  'secret',
  'session',
  'sig',
  'signature',
  'token',
  'x-api-key',
]);

/** What is wrong with `url`, never quoting the credential; undefined when it holds none. */
export function urlCredentialProblem(url: string, authPath: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined; // the schema reports a URL that does not parse
  }
  if (u.username || u.password) return `holds a user name or password (user:password@host); remove it and set ${authPath} instead`;
  const names = [...new Set([...u.searchParams.keys()].filter((k) => CREDENTIAL_PARAMS.has(k.toLowerCase())))];
  if (names.length > 0) {
    return `query parameter${names.length === 1 ? '' : 's'} ${names.map((n) => `"${n}"`).join(', ')} carr${names.length === 1 ? 'ies' : 'y'} a credential; remove ${names.length === 1 ? 'it' : 'them'} and set ${authPath} instead (type header or bearer)`;
  }
  return undefined;
}
