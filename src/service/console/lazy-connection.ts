/**
 * A connection the console opens on first use and keeps. One that failed to open is not kept: an
 * admin who opened the page while Redis restarted would otherwise see "could not be read" until
 * the service restarts.
 */
export interface OpenedOnFirstUse<T> {
  /** The connection, opened now if it is not open or opening. */
  get(): Promise<T>;
  /** The connection if it is open or opening (to close it), without opening one. */
  current(): Promise<T> | undefined;
}

export function openOnFirstUse<T>(open: () => Promise<T>): OpenedOnFirstUse<T> {
  let opened: Promise<T> | undefined;
  return {
    get: () =>
      (opened ??= open().catch((error: unknown) => {
        opened = undefined;
        throw error;
      })),
    current: () => opened,
  };
}
