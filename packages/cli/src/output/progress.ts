/**
 * The live line `wait` shows on a terminal: status, executors running, elapsed time, redrawn in place on
 * stderr. Nothing at all when stderr is not a terminal.
 */
import type { Style } from './style.js';
import { duration } from './time.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class ProgressLine {
  private frame = 0;
  private shown = false;
  private readonly onInterrupt = () => {
    this.clear();
    process.exit(130);
  };

  constructor(
    private readonly id: string,
    private readonly style: Style,
  ) {
    process.once('SIGINT', this.onInterrupt);
  }

  update(status: string, elapsedMs: number, executors?: { running: number; total: number }): void {
    const parts = [this.style.status(status)];
    if (status === 'Running' && executors && executors.total > 0) parts.push(`${executors.running}/${executors.total} executors running`);
    parts.push(duration(elapsedMs));
    const spinner = FRAMES[this.frame++ % FRAMES.length]!;
    process.stderr.write(`\r\u001b[2K${spinner} ${this.id}  ${parts.join(' · ')}`);
    this.shown = true;
  }

  /** Removes the line (before printing the result, or on exit). */
  clear(): void {
    if (this.shown) process.stderr.write('\r\u001b[2K');
    this.shown = false;
  }

  stop(): void {
    this.clear();
    process.removeListener('SIGINT', this.onInterrupt);
  }
}
