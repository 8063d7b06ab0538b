/**
 * At most `limit` tasks at a time, the rest waiting in order. Log pages go through one (a page holds its lines
 * as objects until it is answered, a few MB for 10,000 lines, so twenty clients paging a huge log at once would
 * hold twenty of them), and so do the Slurm launcher's sbatch calls (a hundred at once would all wait on the
 * one controller, each spawn stalling the event loop).
 */
export class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next task, so `active` never drops and rises again in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
