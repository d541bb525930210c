/**
 * A deliberately non-conforming SCIM list endpoint, for the paging quirks real servers have:
 * startIndex ignored, a page past the end that repeats the first, a wrong totalResults, a page
 * size cap below what was asked, an off-by-one (0-based) startIndex, pages that are all empty
 * while totalResults counts every resource.
 */
import { createServer, type Server } from 'node:http';

export type Quirk = 'none' | 'ignores-start-index' | 'repeats-first-page-past-end' | 'total-too-low' | 'total-too-high' | 'caps-page-size' | 'zero-based' | 'empty-pages';

export interface QuirkyServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startQuirkyServer(total: number, quirk: Quirk, cap = 1000): Promise<QuirkyServer> {
  const users = Array.from({ length: total }, (_, i) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: `u${i}`, userName: `user${i}` }));
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    const asked = Number(url.searchParams.get('startIndex') ?? 1);
    let start = quirk === 'zero-based' ? Math.max(0, asked) : Math.max(1, asked);
    let count = Number(url.searchParams.get('count') ?? 100);
    if (quirk === 'caps-page-size') count = Math.min(count, cap);
    if (quirk === 'ignores-start-index') start = 1;
    if (quirk === 'repeats-first-page-past-end' && start > total) start = 1;
    const from = quirk === 'zero-based' ? start : start - 1;
    const page = quirk === 'empty-pages' ? [] : users.slice(from, from + count);
    const reported = quirk === 'total-too-low' ? Math.floor(total / 2) : quirk === 'total-too-high' ? total + 50 : total;
    res.writeHead(200, { 'content-type': 'application/scim+json' });
    res.end(JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: reported, startIndex: start, itemsPerPage: page.length, Resources: page }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/scim/v2`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
