/** targets.<name>.auth: how scim-sync proves who it is to a SCIM server. */
import * as z from 'zod';
import { secret } from './secret-field.js';

export const auth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bearer'), token: secret }).strict().describe('A bearer token in the Authorization header (most SCIM servers).'),
  z.object({ type: z.literal('basic'), username: z.string().min(1).describe('HTTP Basic user name.'), password: secret }).strict().describe('HTTP Basic authentication.'),
  z.object({ type: z.literal('none') }).strict().describe('No credential (a local sandbox only).'),
  z
    .object({
      type: z.literal('oauth2'),
      tokenUrl: z.url({ protocol: /^https?$/ }).describe('OAuth 2.0 token endpoint (client credentials grant).'),
      clientId: z.string().min(1).describe('OAuth 2.0 client id (not a secret; the client secret is).'),
      clientSecret: secret,
      scope: z.string().optional().describe('Space-separated scopes to ask for. Default none.'),
    })
    .strict()
    .describe('OAuth 2.0 client credentials: the token is fetched, cached and refreshed 60 s before it expires.'),
  z
    .object({
      type: z.literal('header'),
      name: z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name').describe('Header carrying the credential, e.g. X-Api-Key.'),
      token: secret.describe('The header value.'),
    })
    .strict()
    .describe('A credential in a custom header.'),
]);
