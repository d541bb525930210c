import type { SourceConfig, SourceSetup } from '../config/schema/index.js';
import type { DirectorySnapshot } from '../model/canonical.js';
import { screenControlCharacters, type ControlCharacterPolicy } from './control-characters.js';
import { CsvSource, csvMultilineAttributes } from './csv/csv-source.js';
import { GoogleSource } from './google/google-source.js';
import { JoinedSource } from './join/joined-source.js';
import { ldapDescription } from './ldap/flavor-defaults.js';
import { narrowSnapshot, NOTHING_TO_CHECK, type ReadProgress, type SourceDirectory } from './source-directory.js';

/** Every source's read passes the same checks of its values, whatever the adapter. */
class ScreenedSource implements SourceDirectory {
  readonly description: string;
  readonly narrowLookups: boolean;
  readonly local: boolean;

  constructor(
    private readonly inner: SourceDirectory,
    private readonly policy: ControlCharacterPolicy,
  ) {
    this.description = inner.description;
    this.narrowLookups = inner.narrowLookups === true;
    this.local = inner.local === true;
  }

  async read(progress?: ReadProgress): Promise<DirectorySnapshot> {
    return screenControlCharacters(await this.inner.read(progress), this.policy);
  }

  /**
   * Screened before it is narrowed, unless the adapter asks its server for that person alone (an
   * LDAP search by key, a Google get): a record rejected elsewhere in the source makes the read
   * dirty for everyone (narrowSnapshot), and screened after narrowing (a CSV builds only that
   * person's record) it would be clean, and one person's command would deprovision where a cycle
   * holds. A lookup by key never sees the others; its person is screened as in a full read.
   */
  async readOne(key: string): Promise<DirectorySnapshot> {
    if (this.inner.readOne && this.narrowLookups) return screenControlCharacters(await this.inner.readOne(key), this.policy);
    return narrowSnapshot(await this.read(), key);
  }

  offeredAttributes(): Promise<ReadonlySet<string>> {
    return this.inner.offeredAttributes();
  }

  async checkNames(): Promise<{ problems: string[] } | { unchecked: string }> {
    return this.inner.checkNames ? this.inner.checkNames() : NOTHING_TO_CHECK;
  }
}

/**
 * An adapter whose module is loaded at its first use: a process that reads a CSV never loads
 * ldapts (about a tenth of a second of every run's start).
 */
class LazySource implements SourceDirectory {
  private loaded: Promise<SourceDirectory> | undefined;

  constructor(
    readonly description: string,
    readonly narrowLookups: boolean,
    private readonly load: () => Promise<SourceDirectory>,
  ) {}

  private get inner(): Promise<SourceDirectory> {
    return (this.loaded ??= this.load());
  }

  async read(progress?: ReadProgress): Promise<DirectorySnapshot> {
    return (await this.inner).read(progress);
  }

  async readOne(key: string): Promise<DirectorySnapshot> {
    const inner = await this.inner;
    return inner.readOne ? inner.readOne(key) : narrowSnapshot(await inner.read(), key);
  }

  async offeredAttributes(): Promise<ReadonlySet<string>> {
    return (await this.inner).offeredAttributes();
  }

  async checkNames(): Promise<{ problems: string[] } | { unchecked: string }> {
    const inner = await this.inner;
    return inner.checkNames ? inner.checkNames() : NOTHING_TO_CHECK;
  }
}

function adapter(config: SourceConfig): SourceDirectory {
  switch (config.type) {
    case 'csv':
      return new CsvSource(config);
    case 'ldap':
      return new LazySource(ldapDescription(config), true, async () => new (await import('./ldap/ldap-source.js')).LdapSource(config));
    case 'google':
      return new GoogleSource(config);
  }
}

function screened(config: SourceConfig): Required<SourceDirectory> {
  return new ScreenedSource(adapter(config), {
    mode: config.controlCharacters,
    multiline: config.type === 'csv' ? csvMultilineAttributes(config) : new Set(),
    field: config.type === 'csv' ? 'column' : 'attribute',
  });
}

/** The one place a source config becomes a source adapter: one source, or several joined (each screened on its own). */
export function createSource(config: SourceSetup): Required<SourceDirectory> {
  if (config.type !== 'joined') return screened(config);
  return new JoinedSource(config, new Map(Object.entries(config.sources).map(([name, source]) => [name, screened(source)])));
}
