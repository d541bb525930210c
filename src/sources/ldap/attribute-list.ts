/**
 * An entry's attributes as the decoder builds them: the lowercased names (one array shared by every
 * entry of a search that names its attributes the same way) beside the value lists. A Map per
 * entry costs several times the memory, and reading 100,000 people is mostly allocation; an entry
 * has a dozen attributes, so a look-up by scanning is as quick as hashing. AttributeNames reads
 * the names of a search's entries.
 */
import { latin1Slice } from './ber.js';
import type { LdapValue } from './entry.js';

type Values = readonly LdapValue[];

export class AttributeList implements ReadonlyMap<string, Values> {
  /** `names[i]` holds `lists[i]`; the names must be unique (else use `gathered`). */
  constructor(
    private readonly names: readonly string[],
    private readonly lists: readonly Values[],
  ) {}

  /** The list from names that repeat: the values of a repeated name are gathered under its first place. */
  static gathered(names: readonly string[], lists: readonly Values[]): AttributeList {
    const merged = new Map<string, LdapValue[]>();
    names.forEach((name, i) => merged.set(name, [...(merged.get(name) ?? []), ...lists[i]!]));
    return new AttributeList([...merged.keys()], [...merged.values()]);
  }

  get size(): number {
    return this.names.length;
  }

  get(name: string): Values | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return this.lists[i];
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  forEach(callback: (values: Values, name: string, map: ReadonlyMap<string, Values>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.names.length; i++) callback.call(thisArg, this.lists[i]!, this.names[i]!, this);
  }

  keys(): MapIterator<string> {
    return this.names.values();
  }

  values(): MapIterator<Values> {
    return this.lists.values();
  }

  entries(): MapIterator<[string, Values]> {
    return this.names.map((name, i): [string, Values] => [name, this.lists[i]!]).values();
  }

  [Symbol.iterator](): MapIterator<[string, Values]> {
    return this.entries();
  }
}

/**
 * Attribute descriptions, lowercased, by position in the entry. Every entry of a search usually
 * names its attributes the same way, so comparing the bytes with the last entry's saves decoding
 * them, and the entries share one array of names.
 */
export class AttributeNames {
  private raw: Buffer[] = [];
  private layout: string[] = [];
  /** Whether `layout` was handed to an entry (and must be copied before it changes). */
  private shared = false;
  private changed = false;
  /** Whether `layout` names an attribute twice (a server should not; its values are then gathered). */
  private repeats = false;

  at(index: number, buf: Buffer, start: number, end: number): string {
    const known = this.raw[index];
    if (known !== undefined && known.length === end - start) {
      let same = true;
      for (let i = 0; i < known.length; i++) {
        if (known[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.layout[index]!;
    }
    if (this.shared) {
      this.layout = this.layout.slice();
      this.shared = false;
    }
    // Descriptions are ASCII (RFC 4512 section 2.5).
    const lower = latin1Slice.call(buf, start, end).toLowerCase();
    this.raw[index] = Buffer.from(buf.subarray(start, end));
    this.layout[index] = lower;
    this.changed = true;
    return lower;
  }

  /** The names of an entry with `count` attributes, read by `at`; and whether one is named twice. */
  finish(count: number): { names: readonly string[]; repeats: boolean } {
    if (this.layout.length !== count) {
      this.layout = this.layout.slice(0, count);
      this.raw = this.raw.slice(0, count);
      this.changed = true;
    }
    if (this.changed) this.repeats = new Set(this.layout).size !== count;
    this.changed = false;
    this.shared = true;
    return { names: this.layout, repeats: this.repeats };
  }
}
