/**
 * How requests reach a server: the one HTTP layer under the SCIM client and the OAuth token fetch.
 * Built on undici (Node's own HTTP engine): a pool of keep-alive connections per server with the
 * target's TLS settings (custom CA bundle, client certificate for mutual TLS), through a proxy when
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY say so (the same rules curl follows, by proxy-from-env;
 * CONNECT tunnels for http and https targets alike).
 *
 * Why not got: measured against a bare node:http keep-alive loop on the same server, a prepared got
 * instance with no hooks costs over twice the client CPU per request (its per-request option
 * normalisation), and reaches about half the throughput; undici matches the bare loop. See
 * test/bench/bare-loops.ts and the apply rows of `npm run bench`.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { rootCertificates } from 'node:tls';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable, Transform } from 'node:stream';
import { getProxyForUrl } from 'proxy-from-env';
import type { buildConnector as BuildConnector, Dispatcher } from 'undici';
import { buildConnector, Pool, ProxyAgent } from './undici-parts.js';
import { ConfigError } from '../../errors.js';

/** PEM contents, read from the files the config names. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Reads `tls.ca/cert/key` (absolute paths by now); an unreadable file is a config error naming the key. */
export function readTlsFiles(files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined, where: string): TlsMaterial | undefined {
  if (!files) return undefined;
  const material: TlsMaterial = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = files[key];
    if (file === undefined) continue;
    try {
      material[key] = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`${where}.tls.${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, [], { cause: error });
    }
  }
  return material;
}

export interface TransportOptions {
  /** Connections kept open to the server; match the target's concurrency. */
  maxSockets: number;
  /** Whole request, from sending to the last byte of the answer, ms. */
  timeoutMs: number;
  /** Largest answer read, bytes (after decompression). */
  maxResponseBytes: number;
  tls?: TlsMaterial | undefined;
}

export interface HttpRequest {
  method: string;
  /** Path and query on the server, from its root ('/scim/v2/Users?count=10'). */
  path: string;
  /** Names lower-case. */
  headers: Record<string, string>;
  body?: string | undefined;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body as received (decompressed). */
  bytes: Buffer;
  /** The whole body, decoded as UTF-8 ('' when empty): decoded when first read (a large page is parsed from its bytes, json-body.ts). */
  readonly body: string;
}

/** An answer whose text is decoded only if asked for. */
class Answer implements HttpAnswer {
  private text: string | undefined;

  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly bytes: Buffer,
  ) {}

  get body(): string {
    return (this.text ??= this.bytes.toString('utf8'));
  }
}

/**
 * A request that got no complete answer. `code` is Node's name for what happened (ECONNREFUSED,
 * ECONNRESET, ETIMEDOUT, a TLS code...), the same names whatever library is underneath, so that
 * error-mapping.ts reads them in one place.
 */
export class TransportError extends Error {
  /** The proxy the request went through (credentials hidden): a connection failure is the proxy's. */
  proxy?: string;
  /** The status a proxy answered a tunnel (CONNECT) with, when it refused one (code EPROXY). */
  proxyStatus?: number;

  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** The answer passed maxResponseBytes (declared or counted): abandoned, its connection closed. */
export class ResponseTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`answer larger than ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/** One server (scheme, host, port) and how to reach it. */
export class Transport {
  /** The proxy in use (credentials hidden), or null. */
  readonly proxy: string | null;
  private readonly origin: string;
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  /**
   * The first error each failed connection raised, by local port. undici reports a connection the
   * server ended as "other side closed" (UND_ERR_SOCKET), and the reason the server gave, such as a
   * TLS alert refusing our client certificate, would be lost without it.
   */
  private readonly socketErrors = new Map<number, Error & { code?: string }>();

  constructor(url: string, options: TransportOptions) {
    this.origin = new URL(url).origin;
    this.timeoutMs = options.timeoutMs;
    this.maxResponseBytes = options.maxResponseBytes;
    const tls = options.tls;
    // A custom CA is trusted in addition to the public ones, as a corporate CA bundle is.
    const tlsOptions = {
      ...(tls?.ca ? { ca: [...rootCertificates, tls.ca] } : {}),
      ...(tls?.cert ? { cert: tls.cert } : {}),
      ...(tls?.key ? { key: tls.key } : {}),
    };
    const proxy = getProxyForUrl(url) || null;
    // The total deadline is ours (see send); these only end a connection that stalls.
    const timeouts = { headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs };
    this.proxy = proxy ? redactUserInfo(proxy) : null;
    this.dispatcher = proxy
      ? new ProxyAgent({ uri: proxy, requestTls: tlsOptions, connections: options.maxSockets, ...timeouts })
      : new Pool(this.origin, { connections: options.maxSockets, connect: this.connector({ ...tlsOptions, timeout: options.timeoutMs }), ...timeouts });
  }

  private connector(options: BuildConnector.BuildOptions): BuildConnector.connector {
    const connect = buildConnector(options);
    return (connectOptions, callback) =>
      connect(connectOptions, (error, socket) => {
        if (socket) {
          const port = socket.localPort;
          socket.once('error', (e: Error) => {
            if (port === undefined) return;
            // Failures are rare; the bound only guards against a server that fails every connection.
            if (this.socketErrors.size >= 64) this.socketErrors.clear();
            this.socketErrors.set(port, e);
            // Read at once when the request fails; gone soon after, before the port is used again.
            socket.once('close', () => setTimeout(() => this.socketErrors.get(port) === e && this.socketErrors.delete(port), 1000).unref());
          });
        }
        callback(error as Error, socket as never);
      });
  }

  /** The reason behind an undici socket error, when the connection recorded one. */
  private underlying(error: unknown): unknown {
    const e = error as { code?: string; socket?: { localPort?: number } } | null;
    const port = e?.code === 'UND_ERR_SOCKET' ? e.socket?.localPort : undefined;
    if (port === undefined) return error;
    const first = this.socketErrors.get(port);
    this.socketErrors.delete(port);
    return first?.code && !first.code.startsWith('UND_ERR_') ? first : error;
  }

  /**
   * One request and its whole answer. Redirects are not followed (the caller sees the 3xx); an
   * answer compressed with gzip, deflate or br is decompressed. Throws TransportError when no
   * complete answer came, ResponseTooLargeError past maxResponseBytes.
   */
  async send(request: HttpRequest): Promise<HttpAnswer> {
    const deadline = new Deadline();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    try {
      const response = await this.dispatcher.request({
        origin: this.origin,
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body ?? null,
        signal: deadline,
      });
      const bytes = await readBody(response, this.maxResponseBytes);
      return new Answer(response.statusCode, response.headers as IncomingHttpHeaders, bytes);
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw error;
      const failed = transportError(deadline.aborted ? Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }) : this.underlying(error));
      if (this.proxy) failed.proxy = this.proxy;
      throw failed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends the connections (requests in flight fail). */
  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }
}

/**
 * The total deadline of one request, as the abort signal undici takes. An EventEmitter rather than
 * an AbortController: undici accepts either, and this one costs a fraction per request.
 */
class Deadline extends EventEmitter {
  aborted = false;

  /** What undici fails the request with (read only on abort: an Error costs a stack trace). */
  get reason(): Error {
    return Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });
  }

  abort(): void {
    this.aborted = true;
    this.emit('abort');
  }
}

const ENCODED: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** The body's bytes, refused past `limit` bytes: by content-length before reading, else as it streams in. */
function readBody(response: Dispatcher.ResponseData, limit: number): Promise<Buffer> {
  const raw = response.body;
  if (Number(response.headers['content-length'] ?? 0) > limit) {
    raw.destroy();
    return Promise.reject(new ResponseTooLargeError(limit));
  }
  const encodingHeader = response.headers['content-encoding'];
  const encoding = (typeof encodingHeader === 'string' ? encodingHeader : '').trim().toLowerCase();
  const decoder = encoding && encoding !== 'identity' ? ENCODED[encoding] : undefined;
  if (encoding && encoding !== 'identity' && !decoder) {
    raw.destroy();
    return Promise.reject(new TransportError(`the answer is encoded with "${encoding}", which is not supported`, 'EUNSUPPORTEDENCODING'));
  }
  const stream: Readable = decoder ? raw.pipe(decoder()) : raw;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: unknown) => {
      raw.destroy();
      if (stream !== raw) stream.destroy();
      reject(error);
    };
    if (stream !== raw) raw.on('error', fail);
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) fail(new ResponseTooLargeError(limit));
      else chunks.push(chunk);
    });
    stream.on('error', fail);
    stream.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
  });
}

/** undici's error codes in Node's names (what error-mapping.ts reads). */
const UNDICI_CODES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_BODY_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CLOSED: 'ECONNRESET',
  UND_ERR_DESTROYED: 'ECONNRESET',
  UND_ERR_ABORTED: 'ECONNABORTED',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'ECONNRESET',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'ECONNRESET',
};

function transportError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const e = (error ?? {}) as Error & { code?: string; cause?: Error & { code?: string } };
  // undici reports a proxy that refused the tunnel as an aborted request, with its status in the words.
  const refused = /Proxy response \((\d{3})\)/.exec(e.message ?? '');
  if (refused) return Object.assign(new TransportError(e.message, 'EPROXY', { cause: error }), { proxyStatus: Number(refused[1]) });
  // A socket or TLS failure inside undici's own error carries Node's code on its cause.
  const code = (e.code?.startsWith('UND_ERR_') && e.cause?.code) || (e.code ? (UNDICI_CODES[e.code] ?? e.code) : (e.cause?.code ?? 'ERROR'));
  return new TransportError(e.message ?? String(error), code, { cause: error });
}

/** A proxy URL may carry a password: never show it. */
function redactUserInfo(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '(unparseable proxy URL)';
  }
}
