/**
 * What every command gets from the global options: the client for --master (or PERISCOPE_MASTER), whether to
 * print JSON, and styled output streams. Built lazily, so `--help` never needs a server URL.
 */
import { Periscope } from '@periscope/sdk';
import type { Command } from 'commander';
import { UsageError } from './exit-codes.js';
import { styleFor, type Style } from './output/style.js';

export interface GlobalOptions {
  master?: string;
  json?: boolean;
}

export class Context {
  readonly json: boolean;
  /** Styles for stdout and for stderr: each is coloured only when that stream is a terminal. */
  readonly out: Style;
  readonly err: Style;
  private client: Periscope | undefined;

  constructor(private readonly options: GlobalOptions) {
    this.json = options.json === true;
    this.out = styleFor(process.stdout);
    this.err = styleFor(process.stderr);
  }

  /** The global options of the command being run, wherever on the line they were given. */
  static of(command: Command): Context {
    return new Context(command.optsWithGlobals<GlobalOptions>());
  }

  get periscope(): Periscope {
    if (!this.client) {
      try {
        this.client = new Periscope(this.options.master !== undefined ? { master: this.options.master } : {});
      } catch (error) {
        // The SDK names the option and the value: `master: "x" is not a URL …`.
        const source = this.options.master !== undefined ? '--master' : 'PERISCOPE_MASTER';
        throw new UsageError(`${source} ${(error as Error).message.replace(/^master: /, '')}`);
      }
    }
    return this.client;
  }

  /** The server URL commands talk to. */
  master(): string {
    return this.periscope.master;
  }

  /** A result line on stdout. */
  print(text: string): void {
    process.stdout.write(`${text}\n`);
  }

  /** A value as indented JSON on stdout (the --json form of every command). */
  printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A remark for the person at the terminal, on stderr, so stdout stays clean for pipes. */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  get stderrIsTerminal(): boolean {
    return process.stderr.isTTY === true;
  }
}
