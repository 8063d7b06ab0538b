/** Runs `periscope` with the process's arguments and exits with the documented code; never a stack trace. */
import { PeriscopeApiError, PeriscopeConnectionError, PeriscopeTimeoutError } from '@periscope/sdk';
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
    say(`${error.message} (start one with \`periscope server\`, or point --master / PERISCOPE_MASTER at one)`);
    return EXIT.UNREACHABLE;
  }
  if (error instanceof PeriscopeApiError) {
    say(`${error.message} (${error.code})`);
    return EXIT.FAILED;
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
