/**
 * The receiving side of a bound LDAP connection while we search on it: frames the byte stream into
 * messages, hands each to the request waiting for its message id, and fails every waiting request
 * when the connection drops, a message cannot be decoded or the server announces it is closing.
 * Requests may overlap (the next page is asked for while the last one is mapped, and range
 * retrieval asks for more values in between); the message id keeps their answers apart.
 *
 * The connection itself is opened, secured and bound by ldapts; for the duration of our reads the
 * channel takes the socket's data from it (ldapts would decode every answer into its own objects
 * first, several times slower) and gives it back for the unbind.
 */
import type { Socket } from 'node:net';
import { BerError, elementSize } from './ber.js';
import type { LdapEntry } from './entry.js';
import { decodeEntry, decodeReference, decodeResult, pagedCookie, readEnvelope, type LdapResult, type ValueOptions } from './search-messages.js';

/** Everything a search request was answered with, up to and including its SearchResultDone. */
export interface SearchAnswer {
  readonly entries: LdapEntry[];
  readonly references: string[];
  readonly result: LdapResult;
  /** The paged-results cookie: null when the server did not page, empty after the last page. */
  readonly cookie: Buffer | null;
}

interface Waiting {
  readonly options: ValueOptions;
  /** Made with the first entry (see dispatch). */
  entries: LdapEntry[];
  readonly references: string[];
  readonly resolve: (answer: SearchAnswer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly answered: ((answer: SearchAnswer) => void) | undefined;
}

type DataListener = (chunk: Buffer) => void;

const LDAP_MESSAGE = 0x30;
// A group of a million members is about 60 MB; anything past this is a broken or hostile server, not data to wait for.
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

// Far from the ids ldapts gave its own requests on this connection.
const FIRST_ID = 0x100000;
const LAST_ID = 0x7fffffff;

export class MessageChannel {
  private readonly waiting = new Map<number, Waiting>();
  private nextId = FIRST_ID;
  /** Bytes of a message not complete yet, and (once its header is in) the size it will have. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private partialNeeds = -1;
  private failure: Error | null = null;
  private readonly lent: DataListener[];

  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onClose = (): void => this.fail(new Error('the connection to the server was lost'));
  private readonly onError = (error: Error): void => this.fail(new Error(`the connection failed: ${error.message}`));

  constructor(private readonly socket: Socket) {
    this.lent = socket.listeners('data') as DataListener[];
    for (const listener of this.lent) socket.removeListener('data', listener);
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    if (socket.destroyed) this.onClose();
  }

  /** Why the channel can no longer be used, or null while it can. */
  get broken(): Error | null {
    return this.failure;
  }

  /**
   * Sends a request built for a fresh message id; resolves once its SearchResultDone arrives.
   * `answered` is called as that message is read, before the promise's reactions run and before
   * the rest of the received bytes are read: a request sent from it reaches the server while we are
   * still handling this answer.
   */
  request(encode: (messageId: number) => Buffer, options: ValueOptions, timeoutMs: number, answered?: (answer: SearchAnswer) => void): Promise<SearchAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId;
    this.nextId = id >= LAST_ID ? FIRST_ID : id + 1;
    return new Promise<SearchAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no complete answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { options, entries: [], references: [], resolve, reject, timer, answered });
      this.socket.write(encode(id));
    });
  }

  /** Gives the socket's data back to its owner (ldapts), for the unbind. */
  release(): void {
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('close', this.onClose);
    this.socket.removeListener('error', this.onError);
    for (const listener of this.lent) this.socket.on('data', listener);
    this.fail(new Error('the search channel was closed'));
  }

  private receive(chunk: Buffer): void {
    let buf = chunk;
    let pos = 0;
    try {
      if (this.partial.length > 0) {
        const missing = this.partialNeeds - this.partialBytes;
        if (this.partialNeeds >= 0 && chunk.length >= missing) {
          // Only the message that straddles the chunks is joined, not the whole new chunk: joining
          // it would copy (and make the collector account for) every chunk of a directory read.
          const message = Buffer.concat([...this.partial, chunk.subarray(0, missing)], this.partialNeeds);
          this.partial = [];
          this.partialBytes = 0;
          this.dispatch(message, 0, message.length);
          pos = missing;
        } else {
          this.partial.push(chunk);
          this.partialBytes += chunk.length;
          // A large message (a group of 100,000 members) arrives in many chunks: join them once.
          if (this.partialNeeds >= 0) return;
          // Its header was cut short: join what there is and frame again.
          buf = Buffer.concat(this.partial, this.partialBytes);
          this.partial = [];
          this.partialBytes = 0;
        }
      }
      while (pos < buf.length) {
        if (buf[pos] !== LDAP_MESSAGE) throw new BerError(`a message starts with 0x${buf[pos]!.toString(16)}, not a SEQUENCE`);
        const size = elementSize(buf, pos);
        if (size > MAX_MESSAGE_BYTES) throw new BerError(`a message claims ${size} bytes, more than the ${MAX_MESSAGE_BYTES} a directory entry could need`);
        if (size < 0 || pos + size > buf.length) {
          const rest = buf.subarray(pos);
          this.partial = [rest];
          this.partialBytes = rest.length;
          this.partialNeeds = size;
          return;
        }
        this.dispatch(buf, pos, pos + size);
        pos += size;
      }
    } catch (error) {
      if (!(error instanceof BerError)) throw error;
      // The stream cannot be trusted past a message we could not read: nothing more is read from it.
      this.fail(new Error(`the server sent a message that is not valid LDAP (${error.message})`));
      this.socket.destroy();
    }
  }

  private dispatch(buf: Buffer, start: number, end: number): void {
    const envelope = readEnvelope(buf, start, end);
    if (envelope.id === 0) {
      // Unsolicited notification (RFC 4511 4.4.1): the server is about to drop the connection.
      const notice = envelope.kind === 'notice' ? decodeResult(buf, envelope).diagnostic : '';
      this.fail(new Error(`the server is closing the connection${notice ? `: ${notice}` : ''}`));
      return;
    }
    const waiting = this.waiting.get(envelope.id);
    // An answer to a request that already timed out: nobody waits for it.
    if (!waiting) return;
    switch (envelope.kind) {
      case 'entry': {
        const entry = decodeEntry(buf, envelope, waiting.options);
        // A page's list is made with its first entry, not grown from the empty one it starts as:
        // an empty array literal is made for small integers, every page's first push changed its
        // kind, and the optimised reading of messages was thrown away (deoptimised, not a Smi) and
        // compiled again (seen with --trace-deopt). A literal holding an entry is made for objects.
        if (waiting.entries.length === 0) waiting.entries = [entry];
        else waiting.entries.push(entry);
        return;
      }
      case 'reference':
        waiting.references.push(...decodeReference(buf, envelope));
        return;
      case 'done': {
        const result = decodeResult(buf, envelope);
        const cookie = pagedCookie(buf, envelope);
        this.settle(envelope.id, waiting);
        const answer = { entries: waiting.entries, references: waiting.references, result, cookie };
        waiting.answered?.(answer);
        waiting.resolve(answer);
        return;
      }
      default:
        this.settle(envelope.id, waiting);
        waiting.reject(new Error(`the server answered a search with an unexpected message (tag 0x${envelope.tag.toString(16)})`));
    }
  }

  private settle(id: number, waiting: Waiting): void {
    clearTimeout(waiting.timer);
    this.waiting.delete(id);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [id, waiting] of this.waiting) {
      this.settle(id, waiting);
      waiting.reject(this.failure);
    }
  }
}
