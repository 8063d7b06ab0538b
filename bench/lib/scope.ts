/**
 * Everything a benchmark starts (servers, child processes, temp dirs, databases) registers its own undo here;
 * the runner closes the scope when the benchmark ends, fails or the suite is interrupted, newest first.
 */
export class Scope {
  private readonly undo: { what: string; fn: () => unknown }[] = [];
  private closing: Promise<void> | undefined;
  private static readonly open = new Set<Scope>();

  constructor() {
    Scope.open.add(this);
  }

  defer(what: string, fn: () => unknown): void {
    this.undo.push({ what, fn });
  }

  /** Undoes everything, once: a second call (a signal during the runner's own close) waits for the first. */
  close(): Promise<void> {
    this.closing ??= this.undoAll();
    return this.closing;
  }

  private async undoAll(): Promise<void> {
    Scope.open.delete(this);
    while (this.undo.length > 0) {
      const { what, fn } = this.undo.pop()!;
      try {
        await fn();
      } catch (error) {
        process.stderr.write(`bench: cleanup of ${what} failed: ${(error as Error).message}\n`);
      }
    }
  }

  /** Closes every scope still open (on SIGINT/SIGTERM). */
  static async closeAll(): Promise<void> {
    await Promise.all([...Scope.open].map((scope) => scope.close()));
  }
}
