/**
 * links.json as an operator would read or edit it by hand, for tests that look at (or damage) the
 * embedded link store's snapshot without going through the store: decoded here, on its own, so a
 * mistake in the store's writer is not repeated by its reader.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type LinkTables = Record<string, Record<string, { id: string; hash: string }>>;

/** Each table ("<target>/<kind>") as links by externalId, from either version of the file. */
export function readLinkTables(file: string): LinkTables {
  const data = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; links?: Record<string, unknown> };
  const tables: LinkTables = {};
  for (const [name, table] of Object.entries(data.links ?? {})) {
    if (!Array.isArray(table)) {
      tables[name] = table as LinkTables[string];
      continue;
    }
    const links: LinkTables[string] = {};
    for (let i = 0; i < table.length; i += 3) links[table[i] as string] = { id: table[i + 1] as string, hash: table[i + 2] as string };
    tables[name] = links;
  }
  return tables;
}

/** Writes the tables as version 2 lays them out: externalId, id and hash in a row for each link. */
export function writeLinkTables(file: string, tables: LinkTables): void {
  const links = Object.fromEntries(Object.entries(tables).map(([name, table]) => [name, Object.entries(table).flatMap(([externalId, l]) => [externalId, l.id, l.hash])]));
  writeFileSync(file, JSON.stringify({ version: 2, links }));
}
