/**
 * A stand-in for Google's token endpoint, the Admin SDK Directory API and the Reports API's admin
 * activity report on a free loopback port: it checks the service-account JWT (RS256 signature,
 * issuer, subject, audience, scopes) as Google does, hands out access tokens, and serves users,
 * groups (by domain, or those a user or group is a direct member of, by userKey), members and
 * activities (newest first, from startTime) in small pages, and answers a
 * users.get of another customer's address with 403, as Google does. Faults make a list page fail.
 * No request ever leaves the machine.
 */
import { generateKeyPairSync, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export const ADMIN = 'admin@example.com';
export const CLIENT_EMAIL = 'scim-sync@example-project.iam.gserviceaccount.com';
export const USER_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
export const GROUP_SCOPE = 'https://www.googleapis.com/auth/admin.directory.group.readonly';
export const REPORTS_SCOPE = 'https://www.googleapis.com/auth/admin.reports.audit.readonly';
export const ACTIVITIES_PATH = '/admin/reports/v1/activity/users/all/applications/admin';

type Json = Record<string, unknown>;

export interface FakeDirectory {
  users: Json[];
  groups: Json[];
  members: Record<string, Json[]>;
  /** The admin activity report (see adminActivity), in any order. */
  activities?: Json[];
}

export interface Fault {
  /** Path of the list, e.g. /admin/directory/v1/users; page is 0-based. */
  path: string;
  page: number;
  status: number;
  /** How many times it fails before answering; Infinity: always. */
  times: number;
  /** Google's error reason (error.errors[0].reason); by default the one Google gives for the status. */
  reason?: string;
  /** Sent as the Retry-After header. */
  retryAfter?: string;
}

/** The reason Google gives with each status when nothing more particular applies. */
const REASONS: Record<number, string> = { 400: 'badRequest', 401: 'authError', 403: 'forbidden', 404: 'notFound', 429: 'rateLimitExceeded', 500: 'backendError', 503: 'backendError' };

/** Google's messages for those reasons; a quota reason's names the quota, which tests need not. */
const MESSAGES: Record<string, string> = {
  badRequest: 'Bad Request',
  authError: 'Invalid Credentials',
  forbidden: 'Not Authorized to access this resource/api',
  insufficientPermissions: 'Request had insufficient authentication scopes.',
  notFound: 'Not Found',
  backendError: 'Backend Error',
};

/** groups.list by userKey: a member (a user or a group) named by its id or its address, as Google takes either. */
function isMember(member: Json, userKey: string): boolean {
  return member['id'] === userKey || String(member['email'] ?? '').toLowerCase() === userKey.toLowerCase();
}

/** groups.list by domain lists that domain's groups alone. */
function ofDomain(group: Json, domain: string | null): boolean {
  return domain === null || String(group['email'] ?? '').toLowerCase().endsWith(`@${domain.toLowerCase()}`);
}

/** An error body as Google's APIs write it. */
function googleError(status: number, message: string, reason = REASONS[status] ?? 'unknown') {
  return { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } };
}

export interface TokenRequest {
  claims: Json;
  signatureValid: boolean;
}

export class FakeGoogle {
  readonly tokenRequests: TokenRequest[] = [];
  readonly requests: { path: string; query: URLSearchParams; authorized: boolean }[] = [];
  readonly faults: Fault[] = [];
  /** Answers of the token endpoint before it hands out tokens, taken in order: a status, or 'reset' (the connection dropped). */
  readonly tokenFaults: { answer: number | 'reset'; retryAfter?: string; times: number }[] = [];
  /** The customer's domains: users.get of an address in any other answers 403, as Google does. */
  readonly domains = ['example.com'];
  /** Items per list page (the API's maxResults is honoured only below this). */
  pageSize = 2;
  /** While set, a users listing page is answered only once it resolves (a slow directory). */
  usersHeld: Promise<void> | undefined;
  /** Careless servers: the token endpoint refuses every grant quoting the request it got; the API answers an HTML page quoting the Authorization header. */
  readonly careless = { tokenErrorQuotesRequest: false, apiEchoesAuthorizationAsHtml: false };
  private readonly publicKey: string;
  readonly privateKey: string;
  private readonly tokens = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly directory: FakeDirectory,
    keys: { publicKey: string; privateKey: string },
  ) {
    this.publicKey = keys.publicKey;
    this.privateKey = keys.privateKey;
  }

  static async start(directory: FakeDirectory): Promise<FakeGoogle> {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    let self: FakeGoogle | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new FakeGoogle(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`, directory, keys);
    return self;
  }

  /** Every access token handed out so far stops working (revoked, as an admin or Google may within its hour). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** The service account key JSON, as Google's console downloads it, pointing at this token endpoint. */
  keyJson(): string {
    return JSON.stringify({
      type: 'service_account',
      project_id: 'example-project',
      private_key_id: 'abc123',
      private_key: this.privateKey,
      client_email: CLIENT_EMAIL,
      client_id: '1234567890',
      token_uri: `${this.url}/token`,
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && url.pathname === '/token') {
      const fault = this.tokenFaults.find((f) => f.times > 0);
      if (fault) {
        fault.times--;
        if (fault.answer === 'reset') return void req.socket.destroy();
        return send(fault.answer, { error: fault.answer === 429 ? 'rate_limit_exceeded' : 'internal_failure' }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (this.careless.tokenErrorQuotesRequest) return send(400, { error: 'invalid_grant', error_description: `cannot use ${Buffer.concat(chunks).toString('utf8')}` });
      return this.token(form, send);
    }
    if (this.careless.apiEchoesAuthorizationAsHtml) {
      res.writeHead(400, { 'content-type': 'text/html' });
      return void res.end(`<html><body>Bad request. Your request header was: ${req.headers.authorization ?? ''}</body></html>`);
    }
    const authorized = this.tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    this.requests.push({ path: url.pathname, query: url.searchParams, authorized });
    if (!authorized) return send(401, googleError(401, 'Request had invalid authentication credentials.'));
    if (url.pathname === '/admin/directory/v1/users' && this.usersHeld) await this.usersHeld;
    const page = Number(url.searchParams.get('pageToken')?.replace('page-', '') ?? 0);
    const fault = this.faults.find((f) => f.path === url.pathname && f.page === page && f.times > 0);
    if (fault) {
      fault.times--;
      const reason = fault.reason ?? REASONS[fault.status] ?? 'unknown';
      return send(fault.status, googleError(fault.status, MESSAGES[reason] ?? `Quota exceeded (${reason})`, reason), fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    const base = '/admin/directory/v1';
    let items: Json[] | undefined;
    let field = '';
    const one = /^\/admin\/directory\/v1\/users\/([^/]+)$/.exec(url.pathname);
    if (one) {
      // users.get takes the id, the primary email or an alias.
      const k = decodeURIComponent(one[1]!).toLowerCase();
      const user = this.directory.users.find((u) => String(u['id']) === k || String(u['primaryEmail'] ?? '').toLowerCase() === k || (Array.isArray(u['aliases']) && u['aliases'].some((a) => String(a).toLowerCase() === k)));
      if (user) return send(200, user);
      // An address of a domain the customer does not own: Google will not say whether it exists.
      const domain = k.includes('@') ? k.slice(k.lastIndexOf('@') + 1) : undefined;
      if (domain !== undefined && !this.domains.includes(domain)) return send(403, googleError(403, MESSAGES['forbidden']!));
      return send(404, googleError(404, 'Resource Not Found: userKey'));
    }
    const userKey = url.searchParams.get('userKey');
    if (url.pathname === ACTIVITIES_PATH) [items, field] = [this.activitiesFrom(url.searchParams), 'items'];
    else if (url.pathname === `${base}/users`) [items, field] = [this.directory.users, 'users'];
    else if (url.pathname === `${base}/groups` && userKey) [items, field] = [this.directory.groups.filter((g) => (this.directory.members[String(g['id'])] ?? []).some((m) => isMember(m, userKey))), 'groups'];
    else if (url.pathname === `${base}/groups`) [items, field] = [this.directory.groups.filter((g) => ofDomain(g, url.searchParams.get('domain'))), 'groups'];
    else {
      const m = /^\/admin\/directory\/v1\/groups\/([^/]+)\/members$/.exec(url.pathname);
      if (m) [items, field] = [this.directory.members[decodeURIComponent(m[1]!)] ?? [], 'members'];
    }
    if (!items) return send(404, googleError(404, 'Not Found'));
    const size = Math.min(this.pageSize, Number(url.searchParams.get('maxResults') ?? this.pageSize));
    const slice = items.slice(page * size, (page + 1) * size);
    const more = (page + 1) * size < items.length;
    const kind = field === 'items' ? 'admin#reports#activities' : `admin#directory#${field}`;
    return send(200, { kind, ...(slice.length ? { [field]: slice } : {}), ...(more ? { nextPageToken: `page-${page + 1}` } : {}) });
  }

  /** As activities.list answers: at or after startTime (before endTime), newest first. */
  private activitiesFrom(query: URLSearchParams): Json[] {
    const from = Date.parse(query.get('startTime') ?? '1970-01-01T00:00:00Z');
    const to = query.has('endTime') ? Date.parse(query.get('endTime')!) : Infinity;
    const timeOf = (a: Json) => Date.parse(String((a['id'] as Json)['time']));
    return (this.directory.activities ?? []).filter((a) => timeOf(a) >= from && timeOf(a) < to).sort((a, b) => timeOf(b) - timeOf(a));
  }

  private token(form: URLSearchParams, send: (status: number, body: unknown) => void): void {
    const assertion = form.get('assertion') ?? '';
    const [header, payload, signature] = assertion.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8') || '{}') as Json;
    const signatureValid = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), this.publicKey, Buffer.from(signature ?? '', 'base64url'));
    this.tokenRequests.push({ claims, signatureValid });
    const scopes = String(claims['scope'] ?? '').split(' ');
    const ok =
      form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
      signatureValid &&
      claims['iss'] === CLIENT_EMAIL &&
      claims['sub'] === ADMIN &&
      claims['aud'] === `${this.url}/token` &&
      scopes.every((s) => s === USER_SCOPE || s === GROUP_SCOPE || s === REPORTS_SCOPE);
    if (!ok) {
      return send(401, {
        error: 'unauthorized_client',
        error_description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      });
    }
    const token = `ya29.fake-${this.tokens.size + 1}`;
    this.tokens.add(token);
    send(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
  }
}

/**
 * Retries that wait no real time: each wait asked for is noted in `waits` (ms). The jitter is fixed
 * at half, so the waits are exact: half of each backoff ceiling, or a Retry-After plus half a second.
 */
export function instantRetries(): { waits: number[]; wait(ms: number): Promise<void>; random(): number } {
  const waits: number[] = [];
  return { waits, wait: async (ms) => void waits.push(ms), random: () => 0.5 };
}

let qualifier = 0;

/** One admin activity as the report lists it: `params` are the event's parameters (USER_EMAIL, NEW_VALUE, GROUP_EMAIL). */
export function adminActivity(time: string, name: string, params: Record<string, string>, uniqueQualifier = String(-1_000_000 - ++qualifier)): Json {
  const type = name.includes('GROUP') ? 'GROUP_SETTINGS' : 'USER_SETTINGS';
  return {
    kind: 'admin#reports#activity',
    id: { time, uniqueQualifier, applicationName: 'admin', customerId: 'C01' },
    actor: { callerType: 'USER', email: ADMIN, profileId: '100' },
    events: [{ type, name, parameters: Object.entries(params).map(([n, value]) => ({ name: n, value })) }],
  };
}

/** A small directory: people with every attribute kind, suspended and archived ones, a broken record, groups nested and with outside members. */
function googleUser(id: string, email: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'admin#directory#user', id, primaryEmail: email, name: { givenName: 'Given', familyName: id, fullName: `Given ${id}` }, suspended: false, archived: false, orgUnitPath: '/', ...over };
}

export function sampleDirectory() {
  return {
    users: [
      googleUser('101', 'ada@example.com', {
        name: { givenName: 'Ada', familyName: 'Lovelace', fullName: 'Ada Lovelace' },
        organizations: [{ title: 'Engineer', department: 'Eng', costCenter: 'CC1', primary: true }],
        externalIds: [{ type: 'organization', value: 'E-101' }],
        phones: [{ type: 'work', value: '+1 555 0101' }, { type: 'mobile', value: '+1 555 0102' }],
        aliases: ['ada.l@example.com'],
      }),
      googleUser('102', 'jose@example.com', { name: { givenName: 'José', familyName: 'Müller', fullName: 'José Müller' }, relations: [{ type: 'manager', value: 'ADA.L@example.com' }] }),
      googleUser('103', 'sus@example.com', { suspended: true, relations: [{ type: 'manager', value: 'someone@elsewhere.example' }] }),
      googleUser('104', 'arch@example.com', { archived: true }),
      googleUser('105', 'kenji@example.com', { name: { givenName: '健', familyName: '渡辺', fullName: '渡辺 健' } }),
      { id: '106' },
    ],
    groups: [
      { id: 'g1', email: 'eng@example.com', name: 'Engineering' },
      { id: 'g2', email: 'all@example.com', name: '' },
    ],
    members: {
      g1: [
        { id: '101', email: 'ada@example.com', type: 'USER', status: 'ACTIVE' },
        { id: '102', email: 'jose@example.com', type: 'USER', status: 'ACTIVE' },
        { id: '999', email: 'guest@partner.example', type: 'USER', status: 'ACTIVE' },
      ],
      g2: [
        { id: 'g1', email: 'eng@example.com', type: 'GROUP' },
        { id: '105', email: 'kenji@example.com', type: 'USER' },
        { id: 'C01', type: 'CUSTOMER' },
      ],
    },
  };
}
