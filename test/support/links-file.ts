/**
 * links.json as an operator would read or edit it by hand, for tests that look at (or damage) the
 * embedded link store's snapshot without going through the store: decoded here, on its own, so a
 * mistake in the store's writer is not repeated by its reader.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type LinkTables = Record<string, Record<string, { id: string; hash: string }>>;

/** Each table ("<target>/<kind>") as links by externalId, from any version of the file. */
export function readLinkTables(file: string): LinkTables {
  const data = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; links?: Record<string, unknown>; parts?: [string, string[]][] };
  const tables: LinkTables = {};
  const addFlat = (name: string, flat: readonly string[]) => {
    const links = (tables[name] ??= {});
    for (let i = 0; i < flat.length; i += 3) links[flat[i]!] = { id: flat[i + 1]!, hash: flat[i + 2]! };
  };
  for (const [name, table] of Object.entries(data.links ?? {})) {
    if (Array.isArray(table)) addFlat(name, table as string[]);
    else tables[name] = table as LinkTables[string];
  }
  // Version 3: a table may span several parts.
  for (const [name, flat] of data.parts ?? []) addFlat(name, flat);
  return tables;
}

/** Writes the tables as version 2 lays them out: externalId, id and hash in a row for each link. */
export function writeLinkTables(file: string, tables: LinkTables): void {
  const links = Object.fromEntries(Object.entries(tables).map(([name, table]) => [name, Object.entries(table).flatMap(([externalId, l]) => [externalId, l.id, l.hash])]));
  writeFileSync(file, JSON.stringify({ version: 2, links }));
}
