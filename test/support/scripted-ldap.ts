/**
 * An LDAP server on a free loopback port whose answers a test scripts byte by byte: for what slapd
 * will not do on demand (answer in one-byte pieces, send garbage, announce a disconnection, go
 * silent mid-read). Answers are encoded with ldapts's BER writer, independently of the decoder
 * under test; requests are read with its BER reader.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { BerReader, BerWriter } from 'ldapts';

const BIND_REQUEST = 0x60;
const SEARCH_REQUEST = 0x63;
const UNBIND_REQUEST = 0x42;

export interface ReceivedSearch {
  readonly id: number;
  readonly base: string;
  /** 0 base, 1 one level, 2 subtree. */
  readonly scope: number;
  /** The filter as text (filterText). */
  readonly filter: string;
  readonly attributes: readonly string[];
  /** Every control sent with the search, paging included. */
  readonly controls: readonly { readonly oid: string; readonly critical: boolean }[];
  readonly pageSize: number | null;
  readonly cookie: string;
}

/** Decides what the server sends back for one search request. */
export type Script = (search: ReceivedSearch, socket: Socket) => void;

/** SearchResultEntry. */
export function entryMessage(id: number, dn: string, attributes: readonly (readonly [string, readonly (string | Buffer)[]])[]): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(id);
  w.startSequence(0x64);
  w.writeString(dn);
  w.startSequence();
  for (const [name, values] of attributes) {
    w.startSequence();
    w.writeString(name);
    w.startSequence(0x31);
    for (const value of values) {
      if (typeof value === 'string') w.writeString(value);
      else w.writeBuffer(value, 0x04);
    }
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

/** SearchResultReference: a continuation reference to these URIs. */
export function referenceMessage(id: number, uris: readonly string[]): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(id);
  w.startSequence(0x73);
  for (const uri of uris) w.writeString(uri);
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

function writeResult(w: BerWriter, resultCode: number, diagnostic: string): void {
  w.writeEnumeration(resultCode);
  w.writeString('');
  w.writeString(diagnostic);
}

/** SearchResultDone, with a paged-results control when `cookie` is given (criticality written when `critical`). */
export function doneMessage(id: number, resultCode = 0, options: { cookie?: string; critical?: boolean; diagnostic?: string } = {}): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(id);
  w.startSequence(0x65);
  writeResult(w, resultCode, options.diagnostic ?? '');
  w.endSequence();
  if (options.cookie !== undefined) {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(0);
    value.writeString(options.cookie);
    value.endSequence();
    w.startSequence(0xa0);
    w.startSequence();
    w.writeString('1.2.840.113556.1.4.319');
    if (options.critical) w.writeBoolean(false);
    w.writeBuffer(value.buffer, 0x04);
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
  return w.buffer;
}

/** The unsolicited Notice of Disconnection (RFC 4511 4.4.1): message id 0. */
export function noticeOfDisconnection(diagnostic: string): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(0);
  w.startSequence(0x78);
  writeResult(w, 52, diagnostic);
  w.writeString('1.3.6.1.4.1.1466.20036', 0x8a);
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

function bindResponse(id: number): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(id);
  w.startSequence(0x61);
  writeResult(w, 0, '');
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

const FILTER_OPERATORS: Record<number, string> = { 0xa3: '=', 0xa5: '>=', 0xa6: '<=', 0xa8: '~=' };

/**
 * A search filter as text, with names and values as sent (not escaped again). Our own reading:
 * ldapts's parser misreads a presence filter that is not at the start of its buffer. Substring and
 * extensible filters, which no script here needs, print as their tag.
 */
function filterText(r: BerReader): string {
  const tag = r.peek()!;
  if (tag === 0xa0 || tag === 0xa1) {
    r.readSequence(tag);
    const end = r.offset + r.length;
    const parts: string[] = [];
    while (r.offset < end) parts.push(filterText(r));
    return `(${tag === 0xa0 ? '&' : '|'}${parts.join('')})`;
  }
  if (tag === 0xa2) {
    r.readSequence(tag);
    return `(!${filterText(r)})`;
  }
  if (tag === 0x87) return `(${r.readString(0x87)}=*)`;
  const operator = FILTER_OPERATORS[tag];
  if (operator) {
    r.readSequence(tag);
    const attribute = r.readString();
    return `(${attribute}${operator}${r.readString()})`;
  }
  r.readString(tag, true);
  return `(?0x${tag.toString(16)})`;
}

/** The parts of a SearchRequest a script (or a test's assertions) need. */
function readSearch(id: number, r: BerReader): ReceivedSearch {
  const base = r.readString() ?? '';
  const scope = r.readEnumeration() ?? -1;
  r.readEnumeration();
  r.readInt();
  r.readInt();
  r.readBoolean();
  const filter = filterText(r);
  const attributes: string[] = [];
  const list = new BerReader(r.readString(0x30, true) ?? Buffer.alloc(0));
  while (list.remain > 0) attributes.push(list.readString() ?? '');
  const controls: { oid: string; critical: boolean }[] = [];
  let pageSize: number | null = null;
  let cookie = '';
  if (r.remain > 0 && r.peek() === 0xa0) {
    r.readSequence(0xa0);
    while (r.remain > 0) {
      r.readSequence(0x30);
      const oid = r.readString();
      const critical = r.peek() === 0x01 ? r.readBoolean() === true : false;
      controls.push({ oid: oid ?? '', critical });
      const value = r.peek() === 0x04 ? r.readString(0x04, true) : null;
      if (oid === '1.2.840.113556.1.4.319' && value) {
        const v = new BerReader(value);
        v.readSequence();
        pageSize = v.readInt();
        cookie = v.readString() ?? '';
      }
    }
  }
  return { id, base, scope, filter, attributes, controls, pageSize, cookie };
}

export class ScriptedLdap {
  readonly searches: ReceivedSearch[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(script: Script): Promise<ScriptedLdap> {
    let self: ScriptedLdap | undefined;
    const server = createServer((socket) => {
      self!.sockets.add(socket);
      socket.on('close', () => self!.sockets.delete(socket));
      socket.on('error', () => undefined);
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        for (;;) {
          const r = new BerReader(pending);
          if (r.readSequence(0x30) === null || r.remain < r.length) return;
          const end = r.offset + r.length;
          const message = new BerReader(pending.subarray(r.offset, end));
          pending = pending.subarray(end);
          const id = message.readInt()!;
          const op = message.peek();
          if (op === BIND_REQUEST) socket.write(bindResponse(id));
          else if (op === UNBIND_REQUEST) socket.end();
          else if (op === SEARCH_REQUEST) {
            message.readSequence(SEARCH_REQUEST);
            const search = readSearch(id, message);
            self!.searches.push(search);
            script(search, socket);
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new ScriptedLdap(server, `ldap://127.0.0.1:${(server.address() as { port: number }).port}`);
    return self;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Writes the bytes one at a time, each in its own TCP segment as far as Node allows. */
export function writeInPieces(socket: Socket, bytes: Buffer, pieceSize = 1): void {
  for (let i = 0; i < bytes.length; i += pieceSize) socket.write(bytes.subarray(i, i + pieceSize));
}
