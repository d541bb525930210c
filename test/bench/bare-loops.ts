/**
 * The yardsticks: the least a client can do to send the engine's requests. A keep-alive POST loop
 * and a paged GET loop written on `node:http` alone (one agent, `concurrency` sockets, the same
 * headers and bodies as the engine, each answer read whole and parsed), and the same POST loop
 * through got, to show what the library costs by itself.
 */
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  body: unknown;
}

/** One request on `agent`; the answer parsed as JSON (null when empty). */
export function httpJson(agent: Agent, url: URL, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text === '' ? null : (JSON.parse(text) as unknown) });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const headersFor = (token: string) => ({
  authorization: `Bearer ${token}`,
  accept: 'application/scim+json, application/json',
  'user-agent': 'scim-sync/0.1',
});

/** Runs `worker` on `concurrency` lanes until `total` items are taken; ms. */
async function lanes(total: number, concurrency: number, worker: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await worker(next++);
    }),
  );
  return performance.now() - start;
}

/** POSTs every body to `${base}/Users` with node:http; ms from the first request to the last answer. */
export async function bareHttpCreates(base: string, token: string, bodies: readonly unknown[], concurrency: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(`${base}/Users`);
  const headers = { ...headersFor(token), 'content-type': 'application/scim+json' };
  try {
    return await lanes(bodies.length, concurrency, async (i) => {
      const answer = await httpJson(agent, url, 'POST', headers, JSON.stringify(bodies[i]));
      if (answer.status !== 201) throw new Error(`bare POST answered ${answer.status}`);
    });
  } finally {
    agent.destroy();
  }
}

/** The same loop through got, prepared once with got.extend (no per-request options beyond the body). */
export async function bareGotCreates(base: string, token: string, bodies: readonly unknown[], concurrency: number): Promise<number> {
  // Imported here: the bare node:http loops run as processes of their own (bare-process.ts), which
  // must not pay for loading got (about as long as starting node).
  const { default: got } = await import('got');
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const client = got.extend({
    agent: { http: agent },
    headers: { ...headersFor(token), 'content-type': 'application/scim+json' },
    retry: { limit: 0 },
  });
  const url = `${base}/Users`;
  try {
    return await lanes(bodies.length, concurrency, async (i) => {
      JSON.parse((await client.post(url, { body: JSON.stringify(bodies[i]) })).body);
    });
  } finally {
    agent.destroy();
  }
}

/**
 * Lists every user with node:http: pages of `pageSize`, `concurrency` pages in flight (their
 * startIndex known from totalResults, read on the first page); ms, and the resources seen.
 */
export async function bareHttpListing(base: string, token: string, pageSize: number, concurrency: number): Promise<{ ms: number; resources: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const headers = headersFor(token);
  const page = async (startIndex: number) => {
    const answer = await httpJson(agent, new URL(`${base}/Users?startIndex=${startIndex}&count=${pageSize}`), 'GET', headers);
    if (answer.status !== 200) throw new Error(`bare GET answered ${answer.status}`);
    return answer.body as { totalResults: number; Resources?: unknown[] };
  };
  try {
    const start = performance.now();
    const first = await page(1);
    let resources = first.Resources?.length ?? 0;
    const rest = Math.max(0, Math.ceil((first.totalResults - pageSize) / pageSize));
    await lanes(rest, concurrency, async (i) => {
      const listed = (await page(1 + pageSize * (i + 1))).Resources?.length ?? 0;
      resources += listed;
    });
    return { ms: performance.now() - start, resources };
  } finally {
    agent.destroy();
  }
}
