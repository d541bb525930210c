/**
 * IP addresses and CIDR ranges as the config names them (`serve.console.trustedProxies`), and the
 * set they make, and the network a client's limits count against. A dual-stack socket reports an IPv4 peer as `::ffff:10.0.0.1`; every address is
 * compared in its plain form, so a range written as IPv4 matches it.
 */
import { BlockList, isIP } from 'node:net';

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** The address in the form it is compared in: an IPv4-mapped IPv6 address as its IPv4 address. */
export function plainAddress(address: string): string {
  return MAPPED_IPV4.exec(address)?.[1] ?? address;
}

export interface AddressRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** `10.0.0.5`, `10.0.0.0/8`, `fd00::/8` (or an IPv4-mapped form); undefined when it is none of these. */
export function addressRange(text: string): AddressRange | undefined {
  const parts = text.trim().split('/');
  if (parts.length > 2) return undefined;
  const written = parts[0]!;
  const address = plainAddress(written);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  // A mapped range (::ffff:10.0.0.0/104) counts its prefix over 128 bits; as IPv4, 96 fewer.
  const shift = address === written ? 0 : 96;
  const prefixText = parts[1];
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText) - shift;
  if (prefix < 0 || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Whether `address` (as a socket or a header gives it) lies in one of the ranges. */
export type AddressSet = (address: string) => boolean;

export function addressSet(ranges: readonly string[]): AddressSet {
  const list = new BlockList();
  for (const text of ranges) {
    const range = addressRange(text);
    if (!range) throw new Error(`not an IP address or CIDR range: ${text}`);
    list.addSubnet(range.address, range.prefix, range.family);
  }
  return (address) => {
    const plain = plainAddress(address);
    const version = isIP(plain);
    return version !== 0 && list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * Whom a limit per client counts against (the console's failed sign-ins and requests, the service's
 * connections and event bodies): an IPv4 address, or an IPv6 address's /64. One host is usually
 * handed a whole /64, and could take a new address in it for every try.
 */
export function clientNetwork(peer: string): string {
  const address = plainAddress(peer);
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const groups = (text: string) => (text === '' ? [] : text.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${all.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
