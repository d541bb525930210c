/**
 * A quoted field that spans lines where no column may: most often a stray `"` that made csv-parse
 * read the lines up to the next quote as one field. The people on those lines did not leave; the
 * region is named by its lines, and the keys its lines hold (and the groups those people are in)
 * are recovered so that they are held rather than read as gone; a line whose key does not read
 * says that someone may be missing whom nobody can name.
 */

/** The fields of one physical line in order, quotes read leniently (an unclosed quote runs to the line's end). */
export function* fieldsOfLine(line: string, delimiter: string): Generator<string> {
  let pos = 0;
  for (;;) {
    let value = '';
    let next = -1;
    if (line[pos] === '"') {
      for (let i = pos + 1; ; ) {
        const quote = line.indexOf('"', i);
        if (quote === -1) {
          value += line.slice(i);
          break;
        }
        if (line[quote + 1] === '"') {
          value += line.slice(i, quote + 1);
          i = quote + 2;
          continue;
        }
        value += line.slice(i, quote);
        const d = line.indexOf(delimiter, quote + 1);
        next = d === -1 ? -1 : d + delimiter.length;
        break;
      }
    } else {
      const d = line.indexOf(delimiter, pos);
      value = d === -1 ? line.slice(pos) : line.slice(pos, d);
      next = d === -1 ? -1 : d + delimiter.length;
    }
    yield value;
    if (next === -1) return;
    pos = next;
  }
}

/**
 * Whose row a record csv-parse gave up on is, from its fields (`complete`: the whole row, else the
 * row up to where parsing stopped, its last field perhaps cut), or undefined when they cannot say.
 * A stray quote leaves its field holding a `"`; a delimiter inside it splits that field, so the
 * fields after it are shifted: the key is read before the broken field, or counted from the end.
 */
export function keyOfBrokenRow(fields: readonly string[], complete: boolean, keyIndex: number, headerLength: number): string | undefined {
  const broken = fields.findIndex((f) => f.includes('"'));
  const whole = complete ? fields.length : fields.length - 1;
  if (broken < 0 || keyIndex < broken) return keyIndex < whole ? fields[keyIndex]?.trim() || undefined : undefined;
  if (!complete || keyIndex === broken) return undefined;
  return fields[fields.length - (headerLength - keyIndex)]?.trim() || undefined;
}

/**
 * The fields of one physical line read as a row of its own: a quoted field that closes on the line
 * (its closing quote before a delimiter or the line's end) is unquoted; a quote that does not (a
 * stray one, or one that a value spanning lines opens or closes) is a character of its field, read
 * up to the next delimiter like any other. `opened`: the index of the first field holding such a
 * quote at its start, -1 when none does. At most `most` fields are read.
 */
export function lineFields(line: string, delimiter: string, most: number): { fields: string[]; opened: number } {
  const fields: string[] = [];
  let opened = -1;
  let pos = 0;
  while (fields.length < most) {
    let value: string | undefined;
    let next = -1;
    if (line[pos] === '"') {
      let text = '';
      for (let i = pos + 1; ; ) {
        const quote = line.indexOf('"', i);
        if (quote === -1) break;
        if (line[quote + 1] === '"') {
          text += line.slice(i, quote + 1);
          i = quote + 2;
          continue;
        }
        const after = quote + 1;
        if (after === line.length || line.startsWith(delimiter, after)) {
          value = text + line.slice(i, quote);
          next = after === line.length ? -1 : after + delimiter.length;
        }
        break;
      }
      if (value === undefined && opened < 0) opened = fields.length;
    }
    if (value === undefined) {
      const d = line.indexOf(delimiter, pos);
      value = d === -1 ? line.slice(pos) : line.slice(pos, d);
      next = d === -1 ? -1 : d + delimiter.length;
    }
    fields.push(value);
    if (next === -1) break;
    pos = next;
  }
  return { fields, opened };
}

/**
 * What the keys of a file are made of: the class of each of their characters (a digit, an ASCII
 * letter of either case, another letter, or any other character as itself). A text holding a
 * character of no such class (a comma, a space, a lower-case letter where keys have upper-case
 * ones) is no key of this file, but a piece of some other field.
 */
export type KeyShape = ReadonlySet<string>;

function charClass(c: string): string {
  if (c >= '0' && c <= '9') return '9';
  if (c >= 'A' && c <= 'Z') return 'A';
  if (c >= 'a' && c <= 'z') return 'a';
  return /\p{L}/u.test(c) ? 'L' : c;
}

/** The shape of `keys`, or undefined when there are none to learn it from. */
export function keyShape(keys: Iterable<string>): KeyShape | undefined {
  const classes = new Set<string>();
  let any = false;
  for (const key of keys) {
    any = true;
    for (const c of key) classes.add(charClass(c));
  }
  return any ? classes : undefined;
}

function fitsShape(key: string, shape: KeyShape): boolean {
  for (const c of key) if (!shape.has(charClass(c))) return false;
  return true;
}

/** A recovered field as a key or group names: its quotes (the stray one among them) dropped, trimmed. */
function unquoted(text: string): string {
  return text.replace(/"/g, '').trim();
}

export interface SwallowedLinesOptions {
  delimiter: string;
  keyIndex: number;
  /** The header's width: a line of as many fields is a row. */
  width: number;
  /** The groups column's index and separator, when the source reads groups from one. */
  groups?: { index: number; separator: string };
  /** The shape of the keys the file's valid rows hold; undefined when it has none. */
  shape: KeyShape | undefined;
  /** The raw text ends where parsing gave up: its last line may be a row cut short. */
  cut: boolean;
  /** The key csv-parse read for the record, when it read one. */
  recordKey?: string;
}

export interface SwallowedLines {
  /** Keys of the people the lines hold, first-seen order. */
  readonly keys: string[];
  /** Names of the groups those people are in. */
  readonly groups: string[];
  /** Rows the lines hold (a value's continuation lines are none). */
  readonly rows: number;
  /** Lines (0-based, within the text) that may be a person's row whose key does not read. */
  readonly keyUnread: number[];
  /** Lines (0-based) of people whose groups do not read. */
  readonly groupsUnread: number[];
}

/**
 * Who the lines of a raw region hold, each line read as a row of its own (lineFields). The first
 * line starts the record, so it is a row; a later line is one when it has as many fields as the
 * header. A later line with fewer is a row cut short or damaged when what stands in its key column
 * has the keys' shape (its groups are then unknown), else the continuation of a value spanning
 * lines (`Engineering",Eng,active`, or a middle line of plain text); one too short to reach the
 * key column may be either. The first line's fields before its opening quote are as written; at or
 * after it, the line must be whole, or the extra delimiters lie in the quoted value and columns are
 * counted from the end. A key that does not read (or does not fit the shape) is named in
 * `keyUnread`: the person on that line is unknown, and nobody may be read as gone for want of them.
 */
export function readSwallowedLines(raw: string, options: SwallowedLinesOptions): SwallowedLines {
  const { delimiter, keyIndex, width, groups, shape, cut } = options;
  const keys = new Set<string>();
  const groupNames = new Set<string>();
  const keyUnread: number[] = [];
  const groupsUnread: number[] = [];
  let rows = 0;
  const isKey = (text: string | undefined): text is string =>
    text !== undefined && text !== '' && !text.includes('\n') && !text.includes(delimiter) && (shape === undefined || fitsShape(text, shape));
  // At most a few fields past the header's: a line of thousands of delimiters is not split further (nor counted from its end).
  const most = width + 16;
  const lines = raw.split('\n');
  lines.forEach((line, i) => {
    const { fields, opened } = lineFields(line.endsWith('\r') ? line.slice(0, -1) : line, delimiter, most);
    // Where parsing gave up, the last field may be cut short: only the fields before it are whole.
    const partial = cut && i === lines.length - 1;
    const complete = partial ? fields.length - 1 : fields.length;
    const whole = !partial && fields.length === width;
    // A row of only delimiters names nobody, here as anywhere in the file.
    if (whole && fields.every((f) => f.trim() === '')) return;
    /** Where `column` stands in this line's fields, when the line says. */
    const at = (column: number): number | undefined => {
      if (whole) return column;
      if (i === 0) {
        if (opened < 0 || column <= opened) return column < complete || (column === opened && column < fields.length) ? column : undefined;
        return !partial && fields.length > width && fields.length < most ? fields.length - (width - column) : undefined;
      }
      return column < complete ? column : undefined;
    };
    const k = at(keyIndex);
    const key = k === undefined ? undefined : unquoted(fields[k]!);
    if (i > 0 && !whole) {
      if (k !== undefined && !(shape !== undefined && isKey(key))) return;
      if (k === undefined) {
        keyUnread.push(i);
        return;
      }
    }
    if (!isKey(key)) {
      keyUnread.push(i);
      return;
    }
    rows++;
    keys.add(key);
    if (!groups) return;
    const g = i === 0 || whole ? at(groups.index) : undefined;
    if (g === undefined) {
      groupsUnread.push(i);
      return;
    }
    for (const name of unquoted(fields[g]!).split(groups.separator)) if (name.trim() !== '') groupNames.add(name.trim());
  });
  if (isKey(options.recordKey)) keys.add(options.recordKey);
  return { keys: [...keys], groups: [...groupNames], rows, keyUnread, groupsUnread };
}

const SHOWN = 5;

export function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, SHOWN).join(', ');
  return keys.length > SHOWN ? `${shown} and ${keys.length - SHOWN} more` : shown;
}
