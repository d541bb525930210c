/**
 * A credential read from the environment or a file. It cannot be printed by accident: string
 * conversion, JSON and util.inspect all show `[redacted]`; only `reveal()` gives the value, and only
 * the code that puts it on the wire calls it. Every secret is also registered so `redact()` can
 * scrub it from any text that leaves the process (logs, audit, error messages).
 */
import { inspect } from 'node:util';

const known = new Set<string>();

export class Secret {
  readonly #value: string;
  /** Where it came from (`env:NAME`, `file:/path`, `inline`), safe to show. */
  readonly origin: string;

  constructor(value: string, origin: string) {
    this.#value = value;
    this.origin = origin;
    // Very short values would make redact() scrub ordinary words; they are weak secrets anyway.
    if (value.length >= 4) known.add(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return `[redacted ${this.origin}]`;
  }

  [inspect.custom](): string {
    return `Secret(${this.origin})`;
  }
}

/** Replace every known secret value in `text`. Applied to everything we write out. */
export function redact(text: string): string {
  let out = text;
  for (const value of known) {
    if (out.includes(value)) out = out.split(value).join('[redacted]');
  }
  return out;
}
