/**
 * Credentials written where the config does not treat them as secrets: in a URL
 * (`https://user:pass@host/...`, `?api_key=...`) or in `quirks.headers`. URLs and quirks are
 * printed (by `check`, in errors), URLs are logged by proxies and servers, and got sends a URL's
 * userinfo as Basic auth whatever `auth` says; credentials belong in `auth`, where they are secrets.
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

/** Header names that carry a credential: these exactly, or any with token, secret, password or api key in it. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie)$|token|secret|passw|api[-_]?key/i;

/** What is wrong with `quirks.headers`, never quoting a value; undefined when no header carries a credential. */
export function headerCredentialProblem(headers: Record<string, string> | undefined, authPath: string): string | undefined {
  const names = Object.keys(headers ?? {}).filter((name) => CREDENTIAL_HEADER.test(name));
  if (names.length === 0) return undefined;
  return `header${names.length === 1 ? '' : 's'} ${names.map((n) => `"${n}"`).join(', ')} carr${names.length === 1 ? 'ies' : 'y'} a credential, which quirks would print; set ${authPath} instead (type header, bearer or basic)`;
}
