/**
 * Transport settings over real sockets: a private CA and a client certificate (mutual TLS) in front
 * of the sandbox, and proxies from HTTPS_PROXY / HTTP_PROXY / NO_PROXY. Certificates are made
 * fresh by openssl for each run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Harness, person } from '../support/harness.js';

let pki: string;
const servers: Server[] = [];
let h: Harness | undefined;
const savedEnv = { ...process.env };

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, signed by the CA. */
beforeAll(() => {
  pki = mkdtempSync(join(tmpdir(), 'scim-sync-pki-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=scim-sync test CA');
  writeFileSync(join(pki, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'scim-sync'}`);
    openssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', ...(who === 'server' ? ['-extfile', 'server.ext'] : []));
  }
});
afterAll(() => rmSync(pki, { recursive: true, force: true }));
afterEach(async () => {
  for (const key of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy']) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  await h?.close();
  h = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); })));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** HTTPS in front of the sandbox, asking every client for a certificate signed by the test CA. */
async function mutualTlsFront(sandboxPort: number): Promise<{ port: number; clients: string[] }> {
  const clients: string[] = [];
  const server = createHttpsServer(
    { key: readFileSync(join(pki, 'server.key')), cert: readFileSync(join(pki, 'server.pem')), ca: readFileSync(join(pki, 'ca.pem')), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      clients.push((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN as string);
      const upstream = httpRequest({ host: '127.0.0.1', port: sandboxPort, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    },
  );
  return { port: await listen(server as unknown as Server), clients };
}

/** A forward proxy as hpagent uses one: CONNECT tunnels, for http and https targets alike. Records what it carried. */
async function forwardProxy(): Promise<{ url: string; carried: string[] }> {
  const carried: string[] = [];
  const tunnels = new Set<Socket>();
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    carried.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      tunnels.add(s);
      s.on('close', () => tunnels.delete(s));
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
  });
  // Tunnels leave the HTTP server's bookkeeping: end them with it.
  server.on('close', () => {
    for (const s of tunnels) s.destroy();
  });
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    for (const s of tunnels) s.destroy();
    closeAll();
  };
  return { url: `http://127.0.0.1:${await listen(server)}`, carried };
}

const people = Array.from({ length: 5 }, (_, i) => person(i + 1));

async function httpsHarness(tls: string): Promise<{ h: Harness; front: { port: number; clients: string[] } }> {
  h = await Harness.start();
  const front = await mutualTlsFront(h.sandbox.port);
  h.writeConfig(tls);
  writeFileSync(h.configFile, readFileSync(h.configFile, 'utf8').replace(h.sandbox.url, `https://127.0.0.1:${front.port}/scim/v2`));
  h.writePeople(people);
  return { h, front };
}

const fullTls = () => `    tls: { ca: ${join(pki, 'ca.pem')}, cert: ${join(pki, 'client.pem')}, key: ${join(pki, 'client.key')} }`;

describe('TLS', () => {
  it('a private CA and a client certificate: the sync runs over mutual TLS', async () => {
    const { h, front } = await httpsHarness(fullTls());
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(5);
    expect(front.clients.length).toBeGreaterThan(0);
    expect(new Set(front.clients)).toEqual(new Set(['scim-sync']));
  });

  it('paths are relative to the config file', async () => {
    const { h } = await httpsHarness('    tls: { ca: pki/ca.pem, cert: pki/client.pem, key: pki/client.key }');
    execFileSync('ln', ['-s', pki, join(h.dir, 'pki')]);
    expect((await h.cli('check', '--config', h.configFile)).code).toBe(0);
  });

  it('without the client certificate the server refuses the handshake: check says the target is not usable', async () => {
    const { h } = await httpsHarness(`    tls: { ca: ${join(pki, 'ca.pem')} }`);
    const r = await h.cli('check', '--config', h.configFile);
    expect(r.code).toBe(1);
    expect(r.out).toContain('failed (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED): the server refused our client certificate (tls.cert, tls.key)');
  });

  it('without the CA the server certificate is not trusted', async () => {
    const { h } = await httpsHarness('');
    const r = await h.cli('check', '--config', h.configFile);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ not usable: \[PROTOCOL\] TLS handshake with 127\.0\.0\.1:\d+ failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\): the server's certificate is not trusted \(tls\.ca\)/);
  });

  it('an unreadable certificate file is a config error naming the key', async () => {
    const { h } = await httpsHarness('    tls: { ca: missing-ca.pem }');
    const r = await h.cli('check', '--config', h.configFile);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/targets\.app\.tls\.ca: cannot read .*missing-ca\.pem \(ENOENT\)/);
  });
});

describe('proxies from the environment', () => {
  it('HTTPS_PROXY: requests tunnel through the proxy, mutual TLS inside the tunnel', async () => {
    const proxy = await forwardProxy();
    process.env['HTTPS_PROXY'] = proxy.url;
    const { h, front } = await httpsHarness(fullTls());
    const r = await h.run();
    expect(r.code, r.err + r.out).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(5);
    expect(proxy.carried.length).toBeGreaterThan(0);
    expect(new Set(proxy.carried)).toEqual(new Set([`CONNECT 127.0.0.1:${front.port}`]));
    const check = await h.cli('check', '--config', h.configFile);
    expect(check.out).toContain(`via proxy ${proxy.url}/`);
  });

  it('HTTP_PROXY for a plain-http target, and NO_PROXY to go direct', async () => {
    const proxy = await forwardProxy();
    process.env['HTTP_PROXY'] = proxy.url;
    h = await Harness.start();
    h.writePeople(people);
    expect((await h.run()).code).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(5);
    expect(proxy.carried.length).toBeGreaterThan(0);
    expect(new Set(proxy.carried)).toEqual(new Set([`CONNECT 127.0.0.1:${h.sandbox.port}`]));

    process.env['NO_PROXY'] = '127.0.0.1';
    const before = proxy.carried.length;
    h.writePeople([...people, person(6)]);
    expect((await h.run()).code).toBe(0);
    expect(h.sandbox.store.users()).toHaveLength(6);
    expect(proxy.carried).toHaveLength(before);
  });

  it('a proxy that refuses the tunnel (407) is named, and not asked again and again with its credentials; one that cannot be reached is named, not the target', async () => {
    const asked: string[] = [];
    const refusing = createHttpServer((_req, res) => res.writeHead(405).end());
    refusing.on('connect', (req, client: Socket) => {
      asked.push(`CONNECT ${req.url} ${req.headers['proxy-authorization'] ? 'with credentials' : 'without'}`);
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\n\r\n');
    });
    const port = await listen(refusing);
    process.env['HTTP_PROXY'] = `http://proxyuser:PROXYPASS999@127.0.0.1:${port}`;
    h = await Harness.start();
    h.writePeople(people);
    const r = await h.run();
    expect(r.code).not.toBe(0);
    expect(r.out + r.err).toContain(`the proxy http://***@127.0.0.1:${port}/ refused the tunnel to 127.0.0.1:${h.sandbox.port}: 407 Proxy Authentication Required`);
    expect(r.out + r.err).not.toContain('PROXYPASS999');
    // Discovery's three documents at most, once each: a refusal for credentials is not retried.
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.length).toBeLessThanOrEqual(3);
    expect(h.sandbox.requests).toEqual([]);
    expect(r.out).toContain('Target app: not read');

    // Nothing listens on the proxy's port now: the proxy is named, not the target (which is up).
    await new Promise<void>((resolve) => refusing.close(() => resolve()));
    servers.splice(servers.indexOf(refusing), 1);
    const down = await h.run();
    expect(down.code).not.toBe(0);
    expect(down.out + down.err).toContain(`cannot connect to the proxy http://***@127.0.0.1:${port}/ (ECONNREFUSED`);
  });
});

