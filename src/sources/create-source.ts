import type { SourceConfig } from '../config/schema.js';
import { CsvSource } from './csv/csv-source.js';
import { GoogleSource } from './google/google-source.js';
import { LdapSource } from './ldap/ldap-source.js';
import type { SourceDirectory } from './source-directory.js';

/** The one place a source config becomes a source adapter. */
export function createSource(config: SourceConfig): SourceDirectory {
  switch (config.type) {
    case 'csv':
      return new CsvSource(config);
    case 'ldap':
      return new LdapSource(config);
    case 'google':
      return new GoogleSource(config);
  }
}
