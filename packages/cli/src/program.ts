/** The `periscope` command tree. */
import { readFileSync } from 'node:fs';
import { Command, type CommanderError } from 'commander';
import { checkpointCommand } from './commands/checkpoint.js';
import { environmentCommand } from './commands/environment.js';
import { executionCommand, executorCommand } from './commands/execution.js';
import { experimentCommand } from './commands/experiment.js';
import { flagCommand } from './commands/flag.js';
import { healthCommand } from './commands/health.js';
import { modelCommand } from './commands/model.js';
import { nodeCommand } from './commands/node.js';
import { trialCommand } from './commands/trial.js';
import { userCommand } from './commands/user.js';
import { CommandFailure, EXIT_CODES_HELP } from './exit-codes.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const SERVER_DESCRIPTION = 'Run the Periscope server (API on http://HOST:PORT, store in SQLite or PostgreSQL).';
const SERVER_MISSING = 'needs the server package, which is not installed beside the CLI: npm install @periscope/server';

/** Whether @periscope/server can be imported from here (the CLI's package may be installed without it). */
function serverInstalled(): boolean {
  try {
    import.meta.resolve('@periscope/server');
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the program. The server command comes from @periscope/server, which takes about a second to load and
 * may not be installed at all (the CLI's package does not depend on it): it is loaded only when the command line
 * names it, and a stand-in lists it in the help otherwise.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('periscope')
    .description('Periscope: run ML experiments on this machine or a cluster, and follow them.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--master <url>', 'Periscope server URL [env PERISCOPE_MASTER] (default: http://127.0.0.1:32080)')
    .option('--user <name>', 'act as this user, with the token `periscope user login` saved [env PERISCOPE_USER] (default: the user last logged in to the server)')
    .option('--cert-path <file>', "PEM file of the https server's certificate or its CA, to trust instead of the system's")
    .option('--cert-name <name>', 'the name the server certificate must hold, when the --master host differs')
    .option('--noverify', "do not check the https server's certificate at all")
    .option('--json', 'print results as JSON (log lines as one JSON object per line)')
    .addHelpText(
      'after',
      `${EXIT_CODES_HELP}

Example session:
  periscope server &                                   # API on http://127.0.0.1:32080, data in ~/.periscope
  periscope user login alice                           # once per server: the token is saved for later commands
  periscope experiment create -f mnist.yaml --follow   # submit, stream the logs, exit with its outcome
  periscope experiment list --status running
  periscope experiment logs experiment-1647574374688-0001 --tail 20 --only-master
  periscope execution prepare run-1 -f job.yaml --start --wait   # netunicorn style: by a name you choose
  periscope health`,
    );
  configure(program);

  const named = argv.slice(2).includes('server');
  if (named && serverInstalled()) {
    const { serverCommand } = await import('@periscope/server');
    program.addCommand(configure(serverCommand()));
  } else if (named) {
    throw new CommandFailure(`periscope server ${SERVER_MISSING}`);
  } else {
    program.command('server').description(serverInstalled() ? SERVER_DESCRIPTION : `${SERVER_DESCRIPTION} It ${SERVER_MISSING}.`).helpOption(false);
  }
  experimentCommand(program);
  trialCommand(program);
  checkpointCommand(program);
  modelCommand(program);
  environmentCommand(program);
  executionCommand(program);
  executorCommand(program);
  flagCommand(program);
  nodeCommand(program);
  healthCommand(program);
  userCommand(program);
  return program;
}

/**
 * Usage errors do not exit from inside commander: they throw, so main maps them to exit code 2. Each is one
 * line on stderr with a pointer to --help. Commands made with `.command()` inherit these settings.
 */
function configure(command: Command): Command {
  return command
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      outputError: (message, write) => {
        // "error: unknown command 'x'\n(Did you mean y?)" becomes one line.
        const text = message.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ');
        write(`periscope: ${text} (see --help)\n`);
      },
    });
}

/** Commander's own exits: help and version are success, anything else is a usage error. */
export function commanderExitCode(error: CommanderError): number {
  return error.exitCode === 0 ? 0 : 2;
}
