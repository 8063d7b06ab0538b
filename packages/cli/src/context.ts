/**
 * What every command gets from the global options: the client for --master (or PERISCOPE_MASTER) acting as
 * --user (or PERISCOPE_USER, or whoever last logged in there) with the TLS flags, whether to print JSON, and
 * styled output streams. Built lazily, so `--help` never needs a server URL.
 */
import { accessSync, constants } from 'node:fs';
import { Periscope, type PeriscopeOptions } from '@periscope/sdk';
import type { Command } from 'commander';
import { UsageError } from './exit-codes.js';
import { styleFor, type Style } from './output/style.js';

export interface GlobalOptions {
  master?: string;
  json?: boolean;
  user?: string;
  certPath?: string;
  certName?: string;
  noverify?: boolean;
}

/** Where each SDK option came from on the command line, for messages that name what the user typed. */
const SOURCES: Record<string, (options: GlobalOptions) => string> = {
  master: (o) => (o.master !== undefined ? '--master' : 'PERISCOPE_MASTER'),
  user: (o) => (o.user !== undefined ? '--user' : 'PERISCOPE_USER'),
  certPath: () => '--cert-path',
  certName: () => '--cert-name',
  noverify: () => '--noverify',
};

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

  /** The client of the global options: the saved token of the user they name (or of the current user). */
  get periscope(): Periscope {
    this.client ??= this.connect();
    return this.client;
  }

  /**
   * A client of the global options with `extra` on top (`periscope user login` adds a user and password,
   * `logout` the exact token it revokes). Bad values are usage errors naming the flag or variable.
   */
  connect(extra: Pick<PeriscopeOptions, 'user' | 'password' | 'token'> = {}): Periscope {
    const { master, user, certPath, certName, noverify } = this.options;
    if (certPath !== undefined) {
      try {
        accessSync(certPath, constants.R_OK);
      } catch (error) {
        throw new UsageError(`--cert-path: cannot read ${certPath} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
    }
    try {
      return new Periscope({
        ...(master !== undefined && { master }),
        ...(user !== undefined && { user }),
        ...(certPath !== undefined && { certPath }),
        ...(certName !== undefined && { certName }),
        ...(noverify === true && { noverify }),
        ...extra,
      });
    } catch (error) {
      // The SDK names the option and the value: `master: "x" is not a URL …`; say what the user typed.
      const message = (error as Error).message;
      const field = /^(\w+): /.exec(message)?.[1];
      const source = field !== undefined ? SOURCES[field] : undefined;
      if (!source) throw error;
      throw new UsageError(`${source(this.options)} ${message.slice(field!.length + 2)}`);
    }
  }

  /** --user (or PERISCOPE_USER) when given. */
  get user(): string | undefined {
    return this.options.user ?? (process.env.PERISCOPE_USER?.trim() || undefined);
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
