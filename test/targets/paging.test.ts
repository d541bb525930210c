import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { ScimClient } from '../../src/targets/http/scim-client.js';
import { startQuirkyServer, type Quirk, type QuirkyServer } from '../support/quirky-server.js';

let server: QuirkyServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function list(total: number, quirk: Quirk, pageSize: number, cap?: number) {
  server = await startQuirkyServer(total, quirk, cap);
  const client = new ScimClient({ target: 'quirky', baseUrl: server.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2 });
  return client.listAll('Users', { pageSize });
}

describe('listing every page of a server as it really is', () => {
  it.each<[Quirk, number, number]>([
    ['none', 250, 100],
    ['none', 200, 100],
    ['repeats-first-page-past-end', 200, 100],
    ['total-too-low', 250, 100],
    ['total-too-high', 250, 100],
    ['zero-based', 250, 100],
  ])('%s: %i users in pages of %i, each once', async (quirk, total, pageSize) => {
    const users = await list(total, quirk, pageSize);
    expect(users).toHaveLength(total);
    expect(new Set(users.map((u) => u['id'])).size).toBe(total);
    // At most one request past the end, and one probe at startIndex 0 when the count disagrees.
    expect(server!.requests.length).toBeLessThanOrEqual(Math.ceil(total / pageSize) + 2);
  });

  it('follows a server that caps the page size below the requested count', async () => {
    const users = await list(250, 'caps-page-size', 200, 50);
    expect(users).toHaveLength(250);
    expect(server!.requests).toHaveLength(5);
  });

  it('refuses a server that ignores startIndex instead of looping or returning a partial list', async () => {
    await expect(list(250, 'ignores-start-index', 100)).rejects.toThrow(ProtocolError);
    await expect(list(250, 'ignores-start-index', 100)).rejects.toThrow(/ignores startIndex/);
    expect(server!.requests.length).toBeLessThanOrEqual(2);
  });
});
