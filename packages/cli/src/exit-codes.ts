/** The exit codes `periscope` documents in its --help, and the errors that carry them. */
export const EXIT = {
  /** Done; for `wait` and `--wait`, the experiment Succeeded. */
  OK: 0,
  /**
   * The experiment failed (or was deleted while waited on, or the wait timed out), the server refused the
   * request (including: not logged in, a token expired or revoked, not an admin), or (`health`) it answered
   * that it is unhealthy. A refusal for want of a login is no different for a script: the fix is a person's.
   */
  FAILED: 1,
  /** Bad command line: unknown command or flag, missing argument, missing or malformed spec file. */
  USAGE: 2,
  /** No Periscope server answered at the --master address, or its certificate is not trusted. */
  UNREACHABLE: 3,
  /** Interrupted (Ctrl-C). */
  INTERRUPTED: 130,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success (for wait and --wait: the experiment Succeeded; for health: healthy)
  1  the experiment Failed or was deleted, the server refused the request (its message is printed), or is unhealthy;
     also not logged in, login expired or revoked (run: periscope user login), or not allowed (admins only)
  2  usage error: unknown command or flag, missing argument, missing or malformed spec file
  3  the server is unreachable (check --master / PERISCOPE_MASTER, or start one with: periscope server),
     or its certificate is not trusted (pass --cert-path, --cert-name or --noverify)`;

/** A problem with what the user typed or pointed at: one line on stderr, exit 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT.USAGE;
}

/** An outcome the command reports as failure (the experiment failed, a wait timed out): exit 1. */
export class CommandFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.FAILED) {
    super(message);
    this.exitCode = exitCode;
  }
}
