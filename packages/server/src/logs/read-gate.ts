/**
 * At most `limit` log reads at a time, the rest waiting in order. A page holds its lines as objects until it
 * is answered (a few MB for 10,000 lines), so twenty clients paging a huge log at once would hold twenty of
 * them; the machine's cores cannot build more than a few pages at a time anyway.
 */
export class ReadGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await read();
    } finally {
      // The slot passes straight to the next reader, so `active` never drops and rises again in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
