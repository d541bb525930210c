/** The re-create budget of one apply of one target in one process (the inline executor's). */
import type { RecreateBudget } from './operation-context.js';

export class RecreateCount implements RecreateBudget {
  private made = 0;

  constructor(readonly allowance: number) {}

  async take(): Promise<boolean> {
    return ++this.made <= this.allowance;
  }
}
