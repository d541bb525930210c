/**
 * An entry's attributes as the decoder builds them: the lowercased names (one array shared by every
 * entry of a search that names its attributes the same way) beside the values. A Map per entry
 * costs several times the memory, and reading 100,000 people is mostly allocation; an entry has a
 * dozen attributes, so a look-up by scanning is as quick as hashing. A lone text value (most
 * attributes of a person hold one) is kept as itself, not in a list of its own: `get` makes the
 * list when asked, and the hot readers take the slot as it is (entry.ts). AttributeNames reads the
 * names of a search's entries.
 */
import { latin1Slice } from './ber.js';

/** A value as read: text, or bytes when it is not UTF-8 or was asked for as binary (entry.ts). */
export type LdapValue = string | Buffer;

type Values = readonly LdapValue[];

/** One attribute's values as kept: a lone text value as itself, anything else (none, several, bytes) as the list. */
export type Slot = string | Values;

function listOf(slot: Slot): Values {
  return typeof slot === 'string' ? [slot] : slot;
}

export class AttributeList implements ReadonlyMap<string, Values> {
  /** `names[i]` holds `slots[i]`; the names must be unique (else use `gathered`). `ranged`: a name carries a range option (range.ts). */
  constructor(
    readonly names: readonly string[],
    private readonly slots: readonly Slot[],
    readonly ranged = false,
  ) {}

  /** The list from names that repeat: the values of a repeated name are gathered under its first place. */
  static gathered(names: readonly string[], slots: readonly Slot[], ranged = false): AttributeList {
    const merged = new Map<string, LdapValue[]>();
    names.forEach((name, i) => merged.set(name, [...(merged.get(name) ?? []), ...listOf(slots[i]!)]));
    return new AttributeList([...merged.keys()], [...merged.values()], ranged);
  }

  get size(): number {
    return this.names.length;
  }

  /** The values of `name` (lowercased) as kept, without making a list for a lone text value. */
  slot(name: string): Slot | undefined {
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return this.slots[i];
    return undefined;
  }

  /** The values at a place of `names`, as kept. */
  slotAt(index: number): Slot {
    return this.slots[index]!;
  }

  get(name: string): Values | undefined {
    const slot = this.slot(name);
    return slot === undefined ? undefined : listOf(slot);
  }

  has(name: string): boolean {
    return this.slot(name) !== undefined;
  }

  forEach(callback: (values: Values, name: string, map: ReadonlyMap<string, Values>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.names.length; i++) callback.call(thisArg, listOf(this.slots[i]!), this.names[i]!, this);
  }

  keys(): MapIterator<string> {
    return this.names.values();
  }

  values(): MapIterator<Values> {
    return this.slots.map(listOf).values();
  }

  entries(): MapIterator<[string, Values]> {
    return this.names.map((name, i): [string, Values] => [name, listOf(this.slots[i]!)]).values();
  }

  [Symbol.iterator](): MapIterator<[string, Values]> {
    return this.entries();
  }
}

/**
 * Attribute descriptions, lowercased, by position in the entry. Every entry of a search usually
 * names its attributes the same way, so comparing the bytes with the last entry's saves decoding
 * them, the entries share one array of names, and what is judged by the name (whether the values
 * stay bytes, whether one is a range) is judged once for them all.
 */
export class AttributeNames {
  private raw: Buffer[] = [];
  private layout: string[] = [];
  private binaries: boolean[] = [];
  /** Whether `layout` was handed to an entry (and must be copied before it changes). */
  private shared = false;
  private changed = false;
  /** Whether the last finished layout names an attribute twice (a server should not; its values are then gathered). */
  repeats = false;
  /** Whether the last finished layout has a name with a range option (AD range retrieval, range.ts). */
  ranged = false;

  /** How many attributes the last entry had: the next one likely has as many. */
  get expected(): number {
    return this.layout.length;
  }

  /** The name at `index`, from its bytes; `binary` lists (lowercased) the names whose values stay bytes. */
  at(index: number, buf: Buffer, start: number, end: number, binary: ReadonlySet<string>): string {
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
    this.binaries[index] = binary.has(lower) || lower.includes(';binary');
    this.changed = true;
    return lower;
  }

  /** Whether the values of the name `at` last read at `index` stay bytes. */
  binaryAt(index: number): boolean {
    return this.binaries[index]!;
  }

  /** The names of an entry with `count` attributes, read by `at`; `repeats` and `ranged` then describe them. */
  finish(count: number): readonly string[] {
    if (this.layout.length !== count) {
      this.layout = this.layout.slice(0, count);
      this.raw = this.raw.slice(0, count);
      this.binaries = this.binaries.slice(0, count);
      this.changed = true;
    }
    if (this.changed) {
      this.repeats = new Set(this.layout).size !== count;
      this.ranged = this.layout.some((name) => name.includes(';range='));
    }
    this.changed = false;
    this.shared = true;
    return this.layout;
  }
}
