/**
 * `serve.console`: the web console under /ui (src/service/console). Off unless this section is
 * written. Who may sign in is a short list of named users, each with a role and a token given by
 * reference; the name is what the provisioning log records as `by` for their actions.
 */
import { BlockList } from 'node:net';
import * as z from 'zod';
import { secret } from './secret-field.js';
import { addressRange } from '../address-ranges.js';

/** The IPv4-mapped IPv6 space: Node matches IPv4 peers against ranges written in it. */
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * A proxy range no site has: half of all addresses passes a /0 check but is as good as every
 * address, and so is an IPv6 range holding the IPv4-mapped space (::ffff:0:0/96, ::/32), which
 * Node matches every IPv4 peer against.
 */
function tooBroad(range: ReturnType<typeof addressRange>): boolean {
  if (range === undefined) return false;
  if (range.family === 'ipv4') return range.prefix < 8;
  if (range.prefix < 32) return true;
  const own = new BlockList();
  own.addSubnet(range.address, range.prefix, 'ipv6');
  const holdsMapped = own.check('::ffff:0:0', 'ipv6') || MAPPED.check(range.address, 'ipv6');
  return holdsMapped && range.prefix < 96 + 8;
}

export const CONSOLE_ROLES = ['viewer', 'operator'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/** Shortest console token: a sign-in guesses it, so it must be long enough not to be guessed. */
export const MIN_CONSOLE_TOKEN_LENGTH = 24;

const consoleUser = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits, ".", "_", "@" and "-" (1-64 characters)')
      .describe('Who this is (recorded as `by: console:<name>` on every action they take). Required.'),
    role: z
      .enum(CONSOLE_ROLES)
      .describe('viewer: reads status, the log, people, staged sets and queues, takes no action. operator: also provisions, deprovisions, releases, approves, rejects, clears quarantine and retries. Required.'),
    token: secret
      .refine((s) => s.origin !== 'inline', { message: 'a console token must be a reference, ${env:NAME} or ${file:path}: written inline it would sit in org.yaml' })
      .refine((s) => s.reveal().length >= MIN_CONSOLE_TOKEN_LENGTH, { message: `a console token needs at least ${MIN_CONSOLE_TOKEN_LENGTH} characters (e.g. openssl rand -base64 32)` })
      .describe(`The token this user signs in with: \${env:NAME} or \${file:path}, never inline; at least ${MIN_CONSOLE_TOKEN_LENGTH} characters. Required.`),
  })
  .strict();

export const consoleSettings = z
  .object({
    users: z
      .array(consoleUser)
      .min(1)
      .refine((users) => new Set(users.map((u) => u.name)).size === users.length, { message: 'two console users share a name' })
      .refine((users) => new Set(users.map((u) => u.token.reveal())).size === users.length, { message: 'two console users share a token: the log could not say which of them acted' })
      .describe('Who may sign in: each with a name, a role and a token. Required (at least one).'),
    sessionMinutes: z
      .number()
      .int()
      .min(5)
      .max(7 * 24 * 60)
      .default(480)
      .describe('How long a sign-in lasts, minutes; sessions are kept in memory, so a restart of the service signs everyone out. Default 480 (8 hours).'),
    idleMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(30)
      .describe('A session unused this long ends (whatever is left of sessionMinutes), minutes: a console left open on an unattended screen. Default 30.'),
    requestsPerMinute: z
      .number()
      .int()
      .min(10)
      .default(120)
      .describe(
        'Requests one session may make a minute (a burst of that many, refilled evenly), and requests a client address (an IPv6 /64) without a session may make, sign-ins included; ' +
          'past it the console answers 429 with Retry-After. A person clicking through pages stays far below. Default 120.',
      ),
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'The address browsers use, when a reverse proxy serves the console (e.g. https://scim-sync.example.com). An https address marks the session cookie Secure; ' +
          'a form is accepted only from this origin (or the service\'s own address). Required when serve.listen is not a loopback address, and then it must be https. Default unset.',
      ),
    loginAttempts: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe('Failed sign-ins allowed per client address in 5 minutes; more are refused (429) until the oldest is 5 minutes old. Default 5.'),
    trustedProxies: z
      .array(
        z
          .string()
          .refine((text) => addressRange(text) !== undefined, { message: 'an IP address or a CIDR range, e.g. 10.0.0.5 or 10.0.0.0/24' })
          .refine((text) => !tooBroad(addressRange(text)), {
            message: 'a range this broad (wider than /8, or /32 for IPv6) would let most clients name their own address and dodge the sign-in limit; list the proxies',
          }),
      )
      .max(64)
      .default([])
      .describe(
        'Addresses or CIDR ranges of the reverse proxies in front of the console. A sign-in that comes through one of them is counted against the client address the proxy wrote in X-Forwarded-For ' +
          '(the last one there that is not itself a listed proxy), so one client\'s failed sign-ins do not refuse everyone behind the proxy. ' +
          'List only proxies that append the client\'s address (nginx: $proxy_add_x_forwarded_for). Default none: the connection\'s address is counted.',
      ),
  })
  .strict();

export type ConsoleSettings = z.output<typeof consoleSettings>;
