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
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { rootCertificates } from 'node:tls';
import { brotliDecompress, createBrotliDecompress, createGunzip, createInflate, gunzip, inflate, type InputType, type ZlibOptions } from 'node:zlib';
import type { Transform } from 'node:stream';
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
  /**
   * A successful answer's body is kept as the server encoded it (gzip, deflate, br): `bytes` are
   * then the encoded bytes, `encoded` says so, and decoded() gives the answer to read. For pages
   * held unread (pages-ahead.ts), where the bytes held count against a bound.
   */
  keepEncoded?: boolean;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body as received (decompressed, unless `encoded`). */
  bytes: Buffer;
  /** The content-encoding `bytes` are still in (a request with keepEncoded); absent once decoded. */
  readonly encoded?: string;
  /** Bytes of the body as they came over the wire (before any decoding): one measure of a page's size, however it was read. */
  readonly received: number;
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
    readonly received: number,
    readonly encoded?: string,
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
    const collector = new AnswerCollector(this.maxResponseBytes, request.keepEncoded === true);
    const timer = setTimeout(() => collector.abort(timedOut()), this.timeoutMs);
    try {
      this.dispatcher.dispatch(
        {
          origin: this.origin,
          path: request.path,
          method: request.method as Dispatcher.HttpMethod,
          // undici's ProxyAgent adds `host` to the headers object it is given; callers may share theirs.
          headers: this.proxy ? { ...request.headers } : request.headers,
          body: request.body ?? null,
        },
        collector,
      );
      return await collector.answer;
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw error;
      const failed = transportError(collector.timedOut ? timedOut() : this.underlying(error));
      if (this.proxy) failed.proxy = this.proxy;
      throw failed;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An answer kept encoded (HttpRequest.keepEncoded), decoded whole on libuv's pool: refused past
   * maxResponseBytes of decoded bytes as a streamed answer is (decoding stops there, so a small body
   * that expands without end costs no more than the limit), and failing as a streamed answer's
   * decoding does (a TransportError with zlib's code). Any other answer as it is.
   */
  async decoded(answer: HttpAnswer): Promise<HttpAnswer> {
    const encoded = answer.encoded;
    if (encoded === undefined) return answer;
    const decode = ENCODED[encoded]!.whole;
    try {
      const bytes = await new Promise<Buffer>((resolve, reject) =>
        decode(answer.bytes, { maxOutputLength: this.maxResponseBytes }, (error, out) => (error ? reject(error) : resolve(out))),
      );
      return new Answer(answer.status, answer.headers, bytes, answer.received);
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new ResponseTooLargeError(this.maxResponseBytes);
      throw transportError(error);
    }
  }

  /** Ends the connections (requests in flight fail). */
  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }
}

const timedOut = () => Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });

type Whole = (input: InputType, options: ZlibOptions, callback: (error: Error | null, result: Buffer) => void) => void;

/** The content-encodings read, each as a stream (an answer decoded as it arrives) and whole (Transport.decoded). */
const ENCODED: Record<string, { stream: () => Transform; whole: Whole }> = {
  gzip: { stream: createGunzip, whole: gunzip },
  'x-gzip': { stream: createGunzip, whole: gunzip },
  deflate: { stream: createInflate, whole: inflate },
  br: { stream: createBrotliDecompress, whole: brotliDecompress as Whole },
};

/**
 * One answer collected straight from undici's dispatch callbacks: status, headers and the body's
 * bytes, refused past `limit` bytes (by content-length before reading, else as they come in).
 * undici's request API would wrap each answer in a stream (an async resource, a Readable and its
 * buffering and events, a promise around a callback) only for us to read it whole at once: on a run
 * of small creates, that machinery was a tenth of the client's CPU per request, and the part of a
 * short run's optimising compiles that no other code needs.
 */
class AnswerCollector implements Dispatcher.DispatchHandler {
  /** Settles once: with the whole answer, or with the first failure. */
  readonly answer: Promise<Answer>;
  /** The deadline passed: the request was abandoned (its failure is then a time-out, whatever undici says). */
  timedOut = false;
  private resolve!: (answer: Answer) => void;
  private reject!: (error: unknown) => void;
  private settled = false;
  private controller: Dispatcher.DispatchController | null = null;
  /** A reason to abandon the request that came before undici started it (it waited for a connection). */
  private early: Error | null = null;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  /** How the body is decoded, when it is encoded: made by its first byte (an empty body, such as a 204's, decodes to nothing). */
  private decode: (() => Transform) | null = null;
  private decoder: Transform | null = null;
  private readonly chunks: Buffer[] = [];
  /** Bytes taken (decoded, unless kept encoded), and bytes received. */
  private size = 0;
  private received = 0;

  /** A successful answer's encoding, when it is kept encoded (keepEncoded): its bytes are taken as they come. */
  private encoding: string | undefined;

  constructor(
    private readonly limit: number,
    private readonly keepEncoded = false,
  ) {
    this.answer = new Promise<Answer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Abandons the request at the deadline, whether or not it has begun. */
  abort(reason: Error): void {
    this.timedOut = true;
    if (this.controller) this.controller.abort(reason);
    else this.early = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.early) controller.abort(this.early);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    // An informational answer (100 Continue, 103 Early Hints) comes before the real one.
    if (status < 200) return;
    this.status = status;
    this.headers = headers;
    if (Number(headers['content-length'] ?? 0) > this.limit) return this.fail(new ResponseTooLargeError(this.limit));
    const header = headers['content-encoding'];
    const encoding = (typeof header === 'string' ? header : '').trim().toLowerCase();
    if (!encoding || encoding === 'identity') return;
    // Own keys only: a server's "constructor" or "__proto__" is no encoding we read.
    const decoders = Object.hasOwn(ENCODED, encoding) ? ENCODED[encoding] : undefined;
    if (!decoders) return this.fail(new TransportError(`the answer is encoded with "${encoding}", which is not supported`, 'EUNSUPPORTEDENCODING'));
    // An error's body is read at once (its message, its retry advice): only a success waits encoded.
    if (this.keepEncoded && status < 300) this.encoding = encoding;
    else this.decode = decoders.stream;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.received += chunk.length;
    if (!this.decode) return this.take(chunk);
    this.decoder ??= this.decode()
      .on('data', (decoded: Buffer) => this.take(decoded))
      .on('error', (error) => this.fail(error))
      .on('end', () => this.finish());
    this.decoder.write(chunk);
  }

  onResponseEnd(): void {
    if (this.decoder) this.decoder.end();
    else this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  private take(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.limit) this.fail(new ResponseTooLargeError(this.limit));
    else this.chunks.push(chunk);
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    const { chunks } = this;
    // An empty body is no encoded one (a 204 through a compressing proxy): nothing to decode.
    const encoded = this.size > 0 ? this.encoding : undefined;
    this.resolve(new Answer(this.status, this.headers, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size), this.received, encoded));
  }

  /** Settles with `error` and abandons what is left: the request (its connection closed), the decoder. */
  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
    // Aborting a request undici has ended (a decoder that failed after the last byte) does nothing.
    this.controller?.abort(error instanceof Error ? error : new Error(String(error)));
    this.decoder?.destroy();
  }
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
