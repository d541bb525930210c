/**
 * A quoted field that spans lines where no column may: most often a stray `"` that made csv-parse
 * read the lines up to the next quote as one field. The people on those lines did not leave; the
 * region is named by its lines, and the keys its lines look like they hold are recovered so that
 * those people are held rather than read as gone.
 */

/** Field `index` of one physical line, quotes read leniently (an unclosed quote runs to the line's end). */
export function fieldOfLine(line: string, delimiter: string, index: number): string | undefined {
  let field = 0;
  for (const value of fieldsOfLine(line, delimiter)) if (field++ === index) return value;
  return undefined;
}

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
 * The keys the lines of a raw region hold in the key column, first-seen order, no blanks. The first
 * line starts the record; a later line is a row of its own (one a stray quote swallowed) only when
 * it has as many fields as the header: a line that continues a field (`Engineering",Eng,active`,
 * or a middle line of plain text) has fewer, and its first field is no key. `cut`: the region ends
 * where parsing gave up, so its last line may be a row cut short: one whose first field holds no
 * quote (which would close the spanning field) counts.
 */
export function keysOnLines(raw: string, delimiter: string, keyIndex: number, fields: number, cut = false): string[] {
  const keys = new Set<string>();
  const lines = raw.split('\n');
  lines.forEach((line, i) => {
    const whole = fieldOfLine(line, delimiter, fields - 1) !== undefined && fieldOfLine(line, delimiter, fields) === undefined;
    const cutRow = cut && i === lines.length - 1 && !(fieldOfLine(line, delimiter, 0) ?? '').includes('"') && fieldOfLine(line, delimiter, keyIndex + 1) !== undefined;
    if (i > 0 && !whole && !cutRow) return;
    const key = fieldOfLine(line, delimiter, keyIndex)?.trim();
    if (key) keys.add(key);
  });
  return [...keys];
}

const SHOWN = 5;

export function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, SHOWN).join(', ');
  return keys.length > SHOWN ? `${shown} and ${keys.length - SHOWN} more` : shown;
}
