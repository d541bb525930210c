/**
 * Who is signed in to the console. A sign-in presents a token; it is compared with every configured
 * user's token in constant time (digests of equal length, no early exit), so neither the answer's
 * time nor its content tells how close a guess was, or whose it nearly was. Failed sign-ins are
 * counted per client address and refused past `loginAttempts` in five minutes, the right token too:
 * answering a right guess would tell it from the wrong ones. A sign-in does not clear the
 * address's failures. (Behind a proxy every user shares its address: the proxy should limit
 * sign-ins per client, or one client's failures refuse everyone for five minutes.)
 *
 * Sessions live in this process's memory (a restart signs everyone out): a random id in an
 * HttpOnly cookie, kept here only as its digest, with the CSRF token of that session's forms. A
 * session ends `sessionMinutes` after its sign-in, or `idleMinutes` after its last request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConsoleRole, ConsoleSettings } from '../../config/schema/console.js';

export interface ConsoleUser {
  name: string;
  role: ConsoleRole;
}

export interface Session {
  user: ConsoleUser;
  /** Every state-changing form of this session carries it. */
  csrf: string;
  expiresAt: number;
  /** When a request last used it (ms): unused for idleMinutes, it ends. */
  lastSeenAt: number;
}

export type SignIn = { session: Session; id: string } | { refused: true } | { retryAfterSeconds: number };

/** The window failed sign-ins are counted over. */
export const LOGIN_WINDOW_MS = 5 * 60_000;
/** Most sessions kept; the oldest go first. A bound on memory, far above any team's use. */
const MAX_SESSIONS = 1000;
/** Most sessions of one user; their own oldest go first, so no user can sign the others out by signing in again and again. */
const MAX_SESSIONS_PER_USER = 20;
/** Most client addresses whose failures are remembered; beyond, the oldest are forgotten. */
const MAX_CLIENTS = 10_000;

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** A random token, URL- and cookie-safe: 256 bits. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether two strings are equal, in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export class ConsoleAuth {
  private readonly users: { user: ConsoleUser; token: Buffer }[];
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly settings: Pick<ConsoleSettings, 'users' | 'sessionMinutes' | 'idleMinutes' | 'loginAttempts'>,
    private readonly now: () => number = Date.now,
  ) {
    this.users = settings.users.map((u) => ({ user: { name: u.name, role: u.role }, token: digest(u.token.reveal()) }));
  }

  signIn(token: string, client: string): SignIn {
    const now = this.now();
    const recent = (this.failures.get(client) ?? []).filter((t) => t > now - LOGIN_WINDOW_MS);
    if (recent.length >= this.settings.loginAttempts) return { retryAfterSeconds: Math.ceil((recent[0]! + LOGIN_WINDOW_MS - now) / 1000) };
    const presented = digest(token);
    let found: ConsoleUser | undefined;
    for (const u of this.users) if (timingSafeEqual(presented, u.token) && !found) found = u.user;
    if (!found) {
      this.failures.delete(client);
      this.failures.set(client, [...recent, now]);
      if (this.failures.size > MAX_CLIENTS) this.failures.delete(this.failures.keys().next().value!);
      return { refused: true };
    }
    const id = randomToken();
    const session: Session = { user: found, csrf: randomToken(), expiresAt: now + this.settings.sessionMinutes * 60_000, lastSeenAt: now };
    const own = [...this.sessions].filter(([, s]) => s.user.name === found.name);
    if (own.length >= MAX_SESSIONS_PER_USER) this.sessions.delete(own[0]![0]);
    this.sessions.set(digest(id).toString('hex'), session);
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    return { session, id };
  }

  /** The live session of this cookie value, if any; using it keeps it from ending idle. */
  session(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const key = digest(id).toString('hex');
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const now = this.now();
    if (session.expiresAt <= now || now - session.lastSeenAt >= this.settings.idleMinutes * 60_000) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  signOut(id: string | undefined): void {
    if (id) this.sessions.delete(digest(id).toString('hex'));
  }
}
