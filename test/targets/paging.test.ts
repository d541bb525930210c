import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { ScimClient } from '../../src/targets/http/scim-client.js';
import { resolveQuirks } from '../../src/config/profiles.js';
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

describe('paging quirks declared in the profile', () => {
  async function listWith(total: number, quirk: Quirk, quirks: Parameters<typeof resolveQuirks>[1], pageSize = 100) {
    server = await startQuirkyServer(total, quirk);
    const client = new ScimClient({ target: 'quirky', baseUrl: server.url, auth: { type: 'none' }, timeoutMs: 5000, maxSockets: 2, quirks: resolveQuirks('generic', quirks) });
    return client.listAll('Users', { pageSize });
  }
  const starts = () => server!.requests.map((r) => new URL(r, 'http://x').searchParams.get('startIndex'));

  it('startIndex: zero-based counts from 0, without the probe', async () => {
    const users = await listWith(250, 'zero-based', { startIndex: 'zero-based' });
    expect(users).toHaveLength(250);
    expect(starts()).toEqual(['0', '100', '200']);
  });

  it('startIndex: ignored reads one page of the largest size', async () => {
    const users = await listWith(80, 'ignores-start-index', { startIndex: 'ignored' });
    expect(users).toHaveLength(80);
    expect(starts()).toEqual(['1']);
  });

  it('startIndex: ignored refuses a server holding more than one page', async () => {
    await expect(listWith(250, 'ignores-start-index', { startIndex: 'ignored' })).rejects.toThrow(/ignores startIndex \(quirk startIndex: ignored\) and holds 250 resources, more than one page of 100/);
  });

  it('totalResults: unreliable ends on a short page only, and a capped page size is asked for', async () => {
    const users = await listWith(250, 'total-too-low', { totalResults: 'unreliable', maxPageSize: 50 }, 200);
    expect(users).toHaveLength(250);
    expect(server!.requests.every((r) => new URL(r, 'http://x').searchParams.get('count') === '50')).toBe(true);
    expect(starts()).toEqual(['1', '51', '101', '151', '201', '251']);
  });
});
