/**
 * The web console in tests: a config block with a viewer and an operator (tokens from the
 * environment), and a small browser-like client over fetch that keeps the session cookie, follows
 * nothing by itself, and reads the CSRF token from the page it was given.
 */
export const VIEWER_TOKEN = 'viewer-token-3d9f0c2b7a6e41d8a5c3';
export const OPERATOR_TOKEN = 'operator-token-8b1e6f4d2c9a7035e1f2';

/** Top-level YAML for Harness.start({ top }): the console on, with helpdesk (viewer) and alice (operator). */
export function consoleYaml(extra = ''): string {
  process.env['CONSOLE_VIEWER_TOKEN'] = VIEWER_TOKEN;
  process.env['CONSOLE_OPERATOR_TOKEN'] = OPERATOR_TOKEN;
  return `serve:
  console:
    users:
      - { name: helpdesk, role: viewer, token: "\${env:CONSOLE_VIEWER_TOKEN}" }
      - { name: alice, role: operator, token: "\${env:CONSOLE_OPERATOR_TOKEN}" }
${extra}`;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

export class ConsoleClient {
  private cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (value === '' || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, { redirect: 'manual', headers: { cookie: this.cookieHeader(), ...headers }, signal: AbortSignal.timeout(30_000) });
    this.keep(res);
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookieHeader(), ...headers },
      signal: AbortSignal.timeout(60_000),
    });
    this.keep(res);
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  /** Signs in through the login form, as a browser would (`headers` on both requests: a proxy's); the answer to the POST. */
  async signIn(token: string, headers: Record<string, string> = {}): Promise<Answer> {
    const form = await this.get('/ui/login', headers);
    return this.post('/ui/login', { nonce: field(form.body, 'nonce'), token }, headers);
  }

  /** The session's CSRF token, from any page with a form. */
  async csrf(): Promise<string> {
    return field((await this.get('/ui')).body, 'csrf');
  }
}

/** The value of the first hidden input named `name` in a page. */
export function field(page: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(page);
  if (!m) throw new Error(`no field ${name} in the page:\n${page.slice(0, 2000)}`);
  return m[1]!;
}
