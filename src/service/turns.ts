/**
 * One at a time, in the order asked: the full cycles and the console's actions that apply a saved
 * set (approve, retry). Each waits for the one before it to end, however that one ended.
 */
export class Turns {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(work);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
