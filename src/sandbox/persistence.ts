import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Debounced, atomic JSON persistence for the sandbox's dataFile: a burst of writes costs one save,
 * and a crash mid-save leaves the previous file intact (write a temp file, then rename over).
 */
export class JsonFileSaver {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private tmpCounter = 0;
  /** The last background save failure; close() surfaces it through flush(). */
  private failure: unknown;

  /**
   * @param file path of the JSON file
   * @param snapshot produces the document to save, called at save time (so it is current)
   * @param delayMs debounce window in milliseconds (default 200)
   */
  constructor(
    private readonly file: string,
    private readonly snapshot: () => unknown,
    private readonly delayMs = 200,
  ) {}

  /** The parsed file, or undefined when it does not exist. A corrupt file is an error, never "empty". */
  static async read(file: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new Error(`sandbox dataFile ${file} is not valid JSON: ${(error as Error).message}`);
    }
  }

  schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save().catch((error: unknown) => {
        this.failure = error;
      });
    }, this.delayMs);
    // close() flushes; a forgotten sandbox must not keep the process alive.
    this.timer.unref();
  }

  /** Saves pending changes now and waits for any save in flight. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.save();
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
  }

  private async save(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
    if (!this.dirty) return;
    this.dirty = false;
    const text = JSON.stringify(this.snapshot());
    const tmp = `${this.file}.${process.pid}.${++this.tmpCounter}.tmp`;
    this.writing = (async () => {
      await mkdir(dirname(this.file), { recursive: true });
      // 0600 whatever was there before: the data is people's accounts. (A left-over temp file keeps
      // its mode through writeFile, hence the chmod.)
      await writeFile(tmp, text, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, this.file);
    })().finally(() => {
      this.writing = undefined;
    });
    try {
      await this.writing;
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }
}
