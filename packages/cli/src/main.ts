/** Runs `periscope` with the process's arguments and exits with the documented code; never a stack trace. */
import { PeriscopeApiError, PeriscopeConnectionError, PeriscopeTimeoutError, type CertificateProblem } from '@periscope/sdk';
import { CommanderError } from 'commander';
import { CommandFailure, EXIT, UsageError } from './exit-codes.js';
import { buildProgram, commanderExitCode } from './program.js';

export async function run(argv: readonly string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync([...argv]);
    return EXIT.OK;
  } catch (error) {
    return report(error);
  }
}

/** What to pass for each kind of certificate problem (the SDK names its options, these are the flags). */
const CERTIFICATE_ADVICE: Record<CertificateProblem, string> = {
  untrusted: 'pass --cert-path FILE with the certificate or its CA, or --noverify to skip the check',
  'wrong-name': 'pass --cert-name NAME with a name the certificate holds, or --noverify to skip the check',
  expired: 'renew the certificate, or pass --noverify to skip the check',
};

/** One line on stderr (none when the command already said it) and the exit code for `error`. */
function report(error: unknown): number {
  const say = (message: string) => process.stderr.write(`periscope: ${message}\n`);
  if (error instanceof CommanderError) return commanderExitCode(error); // commander printed it
  if (error instanceof UsageError) {
    say(error.message);
    return EXIT.USAGE;
  }
  if (error instanceof CommandFailure) {
    if (error.message) say(error.message);
    return error.exitCode;
  }
  if (error instanceof PeriscopeConnectionError) {
    if (error.certificate) say(`cannot connect securely to ${error.master}: ${error.reason} (${CERTIFICATE_ADVICE[error.certificate]})`);
    else say(`${error.message} (start one with \`periscope server\`, or point --master / PERISCOPE_MASTER at one)`);
    return EXIT.UNREACHABLE;
  }
  if (error instanceof PeriscopeApiError) {
    // The SDK's advice for its own callers ("or pass user and password") has no flag here.
    const message = error.code === 'UNAUTHORIZED' ? error.message.replace(/, or pass user and password$/, '') : error.message;
    say(`${message} (${error.code})`);
    return EXIT.FAILED;
  }
  // A --cert-path file that holds no certificate: found only when the first request needs it.
  if (error instanceof TypeError && /^certPath: /.test(error.message)) {
    say(error.message.replace(/^certPath: /, '--cert-path: '));
    return EXIT.USAGE;
  }
  if (error instanceof PeriscopeTimeoutError) {
    say(error.message);
    return EXIT.FAILED;
  }
  if (error instanceof Error && error.name === 'AbortError') return EXIT.INTERRUPTED;
  say(`unexpected error: ${error instanceof Error ? error.message : String(error)}${process.env.PERISCOPE_DEBUG ? '' : ' (PERISCOPE_DEBUG=1 shows details)'}`);
  if (process.env.PERISCOPE_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return EXIT.FAILED;
}

// `periscope … | head` closes stdout early: that is not an error worth a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.OK);
});

process.exitCode = await run(process.argv);
