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

/** One way of naming an entry's attributes up to a position: a path in the tree of the layouts a search has met. */
interface LayoutNode {
  /** The bytes of the name at this position, as the server wrote it (none at the root). */
  readonly raw: Buffer;
  /** That name, lowercased. */
  readonly name: string;
  /** Whether the values of the name at this position stay bytes. */
  readonly binary: boolean;
  readonly parent: LayoutNode | null;
  /** The layouts going on from here, the first met first. */
  readonly next: LayoutNode[];
  /**
   * Made when an entry first ends here: the names from the first position to this one (the array
   * the entries of this layout share), whether one is given twice, whether one has a range option.
   * Present from the start (undefined), so that every node has one shape.
   */
  names: readonly string[] | undefined;
  repeats: boolean;
  ranged: boolean;
}

/** More layouts than this in one search is no directory's schema but a server naming at random: the tree starts again. */
const MAX_LAYOUTS = 2048;

function node(raw: Buffer, name: string, binary: boolean, parent: LayoutNode | null): LayoutNode {
  return { raw, name, binary, parent, next: [], names: undefined, repeats: false, ranged: false };
}

/**
 * Attribute descriptions, lowercased, by position in the entry. The entries of a search name their
 * attributes in a few ways (a person without displayName or mobile; one with several mails names
 * the same ones): each way is a path in a tree whose nodes keep the bytes of a name, so a name is
 * compared with the bytes it had in an earlier entry rather than decoded, the entries of one layout
 * share one array of names, and what is judged by the name (whether the values stay bytes, whether
 * one is a range) is judged once for them all. Keeping only the last entry's names decoded them
 * all again at every change of layout (two entries in ten of the LDAP bench's directory, where one
 * person in ten has no displayName).
 */
export class AttributeNames {
  private root = node(Buffer.alloc(0), '', false, null);
  private layouts = 0;
  /** Where the entry being read stands: its last name read. */
  private current: LayoutNode = this.root;
  /** How many attributes the last finished entry had. */
  private last = 0;
  /** Whether the last finished layout names an attribute twice (a server should not; its values are then gathered). */
  repeats = false;
  /** Whether the last finished layout has a name with a range option (AD range retrieval, range.ts). */
  ranged = false;

  /** How many attributes the last entry had: the next one likely has as many. */
  get expected(): number {
    return this.last;
  }

  /**
   * Reads the name at `index` (0 for an entry's first, then each next one in turn) from its bytes;
   * `binary` lists (lowercased) the names whose values stay bytes.
   */
  at(index: number, buf: Buffer, start: number, end: number, binary: ReadonlySet<string>): string {
    if (index === 0 && this.layouts >= MAX_LAYOUTS) {
      this.root = node(Buffer.alloc(0), '', false, null);
      this.layouts = 0;
    }
    const from = index === 0 ? this.root : this.current;
    const length = end - start;
    const next = from.next;
    for (let n = 0; n < next.length; n++) {
      const known = next[n]!.raw;
      if (known.length !== length) continue;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (known[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.current = next[n]!;
        return this.current.name;
      }
    }
    // Descriptions are ASCII (RFC 4512 section 2.5).
    const lower = latin1Slice.call(buf, start, end).toLowerCase();
    const added = node(Buffer.from(buf.subarray(start, end)), lower, binary.has(lower) || lower.includes(';binary'), from);
    next.push(added);
    this.layouts++;
    this.current = added;
    return lower;
  }

  /** Whether the values of the name `at` last read stay bytes. */
  get binary(): boolean {
    return this.current.binary;
  }

  /** The names of an entry with `count` attributes, read by `at`; `repeats` and `ranged` then describe them. */
  finish(count: number): readonly string[] {
    const end = count === 0 ? this.root : this.current;
    let names = end.names;
    if (names === undefined) {
      // Gathered from the last name back, then turned: a list grown by push is packed, one made by
      // new Array(count) has holes for V8, and every look-up of a name checks for them.
      const made: string[] = [];
      for (let n = end; n.parent !== null; n = n.parent) made.push(n.name);
      made.reverse();
      end.names = names = made;
      end.repeats = new Set(made).size !== count;
      end.ranged = made.some((name) => name.includes(';range='));
    }
    this.repeats = end.repeats;
    this.ranged = end.ranged;
    this.last = count;
    return names;
  }
}
