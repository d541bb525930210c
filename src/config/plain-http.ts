/** Whether a URL sends what it carries across the network in clear. */
import { isLoopback } from './schema/serve.js';

/** Plain http to anything but this machine (127/8, ::1, localhost); false for https and for what does not parse. */
export function plainHttpOffLoopback(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'http:' && !isLoopback(u.hostname);
}
