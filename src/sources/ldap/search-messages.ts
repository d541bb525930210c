/**
 * Decodes the LDAP messages a search answers with (RFC 4511 section 4.5.2): SearchResultEntry into
 * an LdapEntry, SearchResultDone with its paged-results cookie (RFC 2696), SearchResultReference,
 * and the unsolicited notice a server sends before it drops the connection. This is the hot path
 * of reading a directory, so it works on the received bytes in place and builds only the entry.
 */
import { isUtf8 } from 'node:buffer';
import { AttributeList, type AttributeNames, type Slot } from './attribute-list.js';
import { integerAt, readTlv, textAt, tlv, utf8Slice } from './ber.js';
import type { LdapEntry, LdapValue } from './entry.js';

const BOOLEAN = 0x01;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const ENUMERATED = 0x0a;
const SEQUENCE = 0x30;
const SET = 0x31;
const SEARCH_RESULT_ENTRY = 0x64;
const SEARCH_RESULT_DONE = 0x65;
const SEARCH_RESULT_REFERENCE = 0x73;
const EXTENDED_RESPONSE = 0x78;
const CONTROLS = 0xa0;
const REFERRAL = 0xa3;

const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';

/** An attribute sent without values (one list for all: values are never changed in place, see the readonly types). */
const NO_VALUES: readonly LdapValue[] = [];

export type MessageKind = 'entry' | 'done' | 'reference' | 'notice' | 'other';

/** The envelope of one LDAPMessage: its id, what it holds, and where the protocol operation lies. */
export interface Envelope {
  readonly id: number;
  readonly kind: MessageKind;
  /** The protocol operation's tag. */
  readonly tag: number;
  /** Contents of the protocol operation. */
  readonly start: number;
  readonly end: number;
  /** End of the whole message: controls, when present, lie between `end` and here. */
  readonly messageEnd: number;
}

const KINDS: Record<number, MessageKind> = {
  [SEARCH_RESULT_ENTRY]: 'entry',
  [SEARCH_RESULT_DONE]: 'done',
  [SEARCH_RESULT_REFERENCE]: 'reference',
  [EXTENDED_RESPONSE]: 'notice',
};

// One record for every message, as `tlv` is: a message is handled before the next one is read.
const envelope: { -readonly [K in keyof Envelope]: Envelope[K] } = { id: 0, kind: 'other', tag: 0, start: 0, end: 0, messageEnd: 0 };

/** Reads the envelope of the complete message occupying buf[start, end); valid until the next call. */
export function readEnvelope(buf: Buffer, start: number, end: number): Envelope {
  readTlv(buf, start, end, SEQUENCE);
  const messageEnd = tlv.end;
  readTlv(buf, tlv.start, messageEnd, INTEGER);
  envelope.id = integerAt(buf);
  const tag = readTlv(buf, tlv.end, messageEnd);
  envelope.kind = KINDS[tag] ?? 'other';
  envelope.tag = tag;
  envelope.start = tlv.start;
  envelope.end = tlv.end;
  envelope.messageEnd = messageEnd;
  return envelope;
}

/** How a search reads its entries: attributes listed in `binary` (lowercased) stay bytes. */
export interface ValueOptions {
  readonly binary: ReadonlySet<string>;
  readonly names: AttributeNames;
}

function valueAt(buf: Buffer, binary: boolean): LdapValue {
  const { start, end } = tlv;
  // Copies: the received chunk must not stay alive for one photo in it.
  if (binary) return Buffer.from(buf.subarray(start, end));
  const text = utf8Slice.call(buf, start, end);
  // A replacement character means either that one was sent or that the bytes are not UTF-8 (a
  // certificate, a photo): only the second stays bytes.
  if (text.includes('\uFFFD') && !isUtf8(buf.subarray(start, end))) return Buffer.from(buf.subarray(start, end));
  return text;
}

/** SearchResultEntry: objectName, then a sequence of (type, set of values). */
export function decodeEntry(buf: Buffer, envelope: Envelope, options: ValueOptions): LdapEntry {
  readTlv(buf, envelope.start, envelope.end, OCTET_STRING);
  const dn = utf8Slice.call(buf, tlv.start, tlv.end);
  readTlv(buf, tlv.end, envelope.end, SEQUENCE);
  const listEnd = tlv.end;
  const names = options.names;
  // As many places as the last entry had: a list grown by push would be made several times over.
  const slots: Slot[] = new Array<Slot>(names.expected);
  let count = 0;
  for (let pos = tlv.start; pos < listEnd; count++) {
    readTlv(buf, pos, listEnd, SEQUENCE);
    const attributeEnd = tlv.end;
    readTlv(buf, tlv.start, attributeEnd, OCTET_STRING);
    names.at(count, buf, tlv.start, tlv.end, options.binary);
    const binary = names.binary;
    readTlv(buf, tlv.end, attributeEnd, SET);
    const valuesEnd = tlv.end;
    let valuePos = tlv.start;
    let slot: Slot = NO_VALUES;
    if (valuePos < valuesEnd) {
      readTlv(buf, valuePos, valuesEnd, OCTET_STRING);
      valuePos = tlv.end;
      const first = valueAt(buf, binary);
      // Most attributes hold one text value: kept as itself, no list (see AttributeList).
      if (valuePos >= valuesEnd && typeof first === 'string') slot = first;
      else {
        const values: LdapValue[] = [first];
        while (valuePos < valuesEnd) {
          readTlv(buf, valuePos, valuesEnd, OCTET_STRING);
          valuePos = tlv.end;
          values.push(valueAt(buf, binary));
        }
        slot = values;
      }
    }
    slots[count] = slot;
    pos = attributeEnd;
  }
  if (slots.length !== count) slots.length = count;
  const layout = names.finish(count);
  return { dn, attributes: names.repeats ? AttributeList.gathered(layout, slots, names.ranged) : new AttributeList(layout, slots, names.ranged) };
}

export interface LdapResult {
  readonly resultCode: number;
  readonly matchedDn: string;
  readonly diagnostic: string;
  readonly referrals: readonly string[];
}

/** SearchResultDone (or an unsolicited notice's) LDAPResult. */
export function decodeResult(buf: Buffer, envelope: Envelope): LdapResult {
  readTlv(buf, envelope.start, envelope.end, ENUMERATED);
  const resultCode = integerAt(buf);
  readTlv(buf, tlv.end, envelope.end, OCTET_STRING);
  const matchedDn = textAt(buf);
  readTlv(buf, tlv.end, envelope.end, OCTET_STRING);
  const diagnostic = textAt(buf);
  const referrals: string[] = [];
  if (tlv.end < envelope.end) {
    if (readTlv(buf, tlv.end, envelope.end) === REFERRAL) referrals.push(...urisIn(buf, tlv.start, tlv.end));
  }
  return { resultCode, matchedDn, diagnostic, referrals };
}

function urisIn(buf: Buffer, start: number, end: number): string[] {
  const uris: string[] = [];
  for (let pos = start; pos < end; pos = tlv.end) {
    readTlv(buf, pos, end, OCTET_STRING);
    uris.push(textAt(buf));
  }
  return uris;
}

/** SearchResultReference: the URIs where the rest of the answer lies. */
export function decodeReference(buf: Buffer, envelope: Envelope): string[] {
  return urisIn(buf, envelope.start, envelope.end);
}

/**
 * The paged-results cookie of a SearchResultDone's controls: null when the server sent no paging
 * control (complete when it never paged; after a page with a cookie, paging was lost: see
 * connection.ts), an empty buffer on the last page.
 */
export function pagedCookie(buf: Buffer, envelope: Envelope): Buffer | null {
  if (envelope.end >= envelope.messageEnd) return null;
  readTlv(buf, envelope.end, envelope.messageEnd, CONTROLS);
  const controlsEnd = tlv.end;
  for (let pos = tlv.start; pos < controlsEnd; ) {
    readTlv(buf, pos, controlsEnd, SEQUENCE);
    const controlEnd = tlv.end;
    pos = controlEnd;
    readTlv(buf, tlv.start, controlEnd, OCTET_STRING);
    if (textAt(buf) !== PAGED_RESULTS_OID) continue;
    // criticality (BOOLEAN) is optional; the value is the last element.
    if (readTlv(buf, tlv.end, controlEnd) === BOOLEAN) readTlv(buf, tlv.end, controlEnd, OCTET_STRING);
    const valueEnd = tlv.end;
    readTlv(buf, tlv.start, valueEnd, SEQUENCE);
    const sequenceEnd = tlv.end;
    readTlv(buf, tlv.start, sequenceEnd, INTEGER);
    readTlv(buf, tlv.end, sequenceEnd, OCTET_STRING);
    return Buffer.from(buf.subarray(tlv.start, tlv.end));
  }
  return null;
}
