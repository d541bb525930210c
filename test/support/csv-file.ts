import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CsvSourceConfig } from '../../src/config/schema/index.js';

/** A people.csv in a fresh temp folder and a CSV source config for it (key `id`; userName from `mail`, givenName from `first`). */
export function csvFile(content: string | Buffer, over: Partial<CsvSourceConfig> = {}): { path: string; config: CsvSourceConfig } {
  const dir = mkdtempSync(join(tmpdir(), 'csv-'));
  const path = join(dir, 'people.csv');
  writeFileSync(path, content);
  const config: CsvSourceConfig = {
    type: 'csv',
    path,
    delimiter: ',',
    encoding: 'utf-8',
    key: 'id',
    columns: { userName: 'mail', givenName: 'first' },
    multiValueColumns: [],
    multilineColumns: [],
    controlCharacters: 'reject',
    ...over,
  };
  return { path, config };
}
