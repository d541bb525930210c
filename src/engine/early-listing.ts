/**
 * A target's reads begun while the source is still being read: its discovery documents, then its
 * listing of Users, whose pages are kept until the source's snapshot is there to settle them
 * against (settled-accounts.ts), then handed on as they arrive. A source read and a listing each
 * spend most of their time waiting on another machine (a directory, an app), so a cycle costs
 * about the longer of the two instead of their sum. A source read in this process (a CSV:
 * SourceDirectory.local) waits on nothing, and reading pages beside it would only share its
 * thread: its listing's pages are asked for alongside, but read once they can be settled.
 *
 * Only reads go out early. A source that cannot be read (or a mapping it cannot fill) stops each
 * listing after the page in flight, drops what was kept, and nothing is written anywhere.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { TargetRuntime } from '../execution/executor.js';
import type { ServerResource } from '../model/scim.js';
import type { ScimCapabilities } from '../targets/http/capabilities.js';
import type { ScimTarget, ResourceType } from '../targets/scim-target.js';
import type { SyncObserver } from '../telemetry/sync-events.js';

/** A promise's outcome as a value: read early, its failure belongs to its target, not to whoever awaits first. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
export const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
export const unwrap = <T>(settled: Settled<T>): T => {
  if (!settled.ok) throw settled.error;
  return settled.value;
};

/** The three discovery documents, asked for at once (none depends on another). */
export interface DiscoveryAsked {
  capabilities: Promise<Settled<ScimCapabilities>>;
  extensions: Promise<Settled<Awaited<ReturnType<ScimTarget['userSchemaExtensions']>>>>;
  schemas: Promise<Settled<Awaited<ReturnType<ScimTarget['schemas']>>>>;
}

export function askDiscovery(client: ScimTarget): DiscoveryAsked {
  return { capabilities: settle(client.discover()), extensions: settle(client.userSchemaExtensions()), schemas: settle(client.schemas()) };
}

/**
 * Every resource of a type, page by page, each page told to `observer` (the listing's progress) and
 * handed to `take` as it arrives (then not collected here: the result is empty). `stopped`: asked
 * after each page; true ends the listing there.
 */
export async function listTarget(
  runtime: TargetRuntime,
  resource: ResourceType,
  pageSize: number | undefined,
  observer: SyncObserver | undefined,
  take?: (page: ServerResource[]) => void,
  stopped?: () => boolean,
  readAfter?: Promise<void>,
): Promise<ServerResource[]> {
  if (!observer && !take) return runtime.client.listAll(resource, { pageSize });
  const all: ServerResource[] = [];
  let listed = 0;
  let pages = 0;
  for await (const page of runtime.client.pages(resource, { pageSize, readAfter })) {
    if (stopped?.()) return all;
    listed += page.length;
    if (take) take(page);
    else for (const r of page) all.push(r);
    observer?.({ type: 'listing', target: runtime.name, resource, listed, pages: ++pages, done: false });
  }
  observer?.({ type: 'listing', target: runtime.name, resource, listed, pages, done: true });
  return all;
}

/**
 * A target's discovery and Users listing, begun before the source's read ends. For a local source
 * (SourceDirectory.local) the listing's pages after its first two are read only once into() has
 * a taker for them, and held as received until then: read earlier they would only share the
 * source's thread, and be kept whole, where a page settled as it is read dies young.
 */
export class EarlyRead {
  readonly discovery: DiscoveryAsked;
  /** The listing's end; it begins once the discovery documents are read (the page size comes from them), if they all are. */
  private readonly listed: Promise<Settled<unknown>>;
  private kept: ServerResource[][] = [];
  private take: ((page: ServerResource[]) => void) | undefined;
  private stopped = false;
  /** Resolved once the pages have a taker, or the listing is stopped. */
  private readonly taker: Promise<void>;
  private takerCame!: () => void;

  constructor(runtime: TargetRuntime, pageSize: number | undefined, observer: SyncObserver | undefined, local = false) {
    this.taker = new Promise((resolve) => (this.takerCame = resolve));
    this.discovery = askDiscovery(runtime.client);
    const { capabilities, extensions, schemas } = this.discovery;
    this.listed = Promise.all([capabilities, extensions, schemas]).then((read): Promise<Settled<unknown>> | Settled<unknown> =>
      // A failed discovery fails the target when its documents are taken: nothing to list (and keep) meanwhile.
      read.every((d) => d.ok) && !this.stopped
        ? settle(listTarget(runtime, 'Users', pageSize, observer, (page) => this.page(page), () => this.stopped, local ? this.taker : undefined))
        : { ok: true, value: undefined },
    );
  }

  private page(page: ServerResource[]): void {
    if (this.take) this.take(page);
    else this.kept.push(page);
  }

  /**
   * The pages kept so far, then each as it arrives, to `take`; resolves when the listing has ended.
   * The kept pages (half the listing, when the source is slow) are handed over one per turn of the
   * event loop, so the answers that arrive meanwhile are read and the next pages asked for: handed
   * over in one go they held the main thread for a tenth of a second, and the server sat idle.
   */
  async into(take: (page: ServerResource[]) => void): Promise<void> {
    while (this.kept.length > 0 && !this.stopped) {
      const kept = this.kept;
      // Pages that arrive during the turns below are kept behind these, in listing order.
      this.kept = [];
      for (const page of kept) {
        take(page);
        await nextTurn();
      }
    }
    this.take = take;
    this.takerCame();
    unwrap(await this.listed);
  }

  /** The source could not be read: the listing ends after the page in flight, and what it kept is dropped. */
  stop(): void {
    this.stopped = true;
    this.kept = [];
    this.takerCame();
  }
}
