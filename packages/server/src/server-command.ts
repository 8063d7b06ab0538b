/** `periscope server`: starts the API on the embedded SQLite default or the given PostgreSQL. */
import { Command, InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { createApp, type App } from './app.js';
import { ConfigError, describeDatabase, resolveConfig, type ServerFlags } from './config.js';
import { EngineLeaseHeldError } from './execution/engine-lease.js';
import { SecretKeyError } from './secrets/secret-box.js';
import { fileToken } from './users/credentials-file.js';
import { VERSION } from './version.js';

export function serverCommand(): Command {
  return new Command('server')
    .description('Run the Periscope server (API on http://HOST:PORT, store in SQLite or PostgreSQL).')
    .option('--data-dir <dir>', 'data directory for the SQLite file and logs [env PERISCOPE_DATA_DIR] (default: ~/.periscope)')
    .option('--db <url>', 'postgres://user@host/db, or a SQLite file path [env PERISCOPE_DB] (default: <data-dir>/periscope.db)')
    .option('--host <host>', 'address to bind [env PERISCOPE_HOST] (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any free one [env PERISCOPE_PORT] (default: 32080)', checkPort)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent [env PERISCOPE_LOG_LEVEL] (default: info)')
    .option('--cpus <n>', 'CPUs the scheduler may hand out [env PERISCOPE_CPUS] (default: detected)')
    .option('--memory <size>', 'memory the scheduler may hand out, e.g. 16G [env PERISCOPE_MEMORY] (default: detected)')
    .option('--gpus <list>', 'GPU indices to use, e.g. 0,1, or none [env PERISCOPE_GPUS] (default: detected by nvidia-smi)')
    .option('--launcher <kind>', 'local: executors run as processes on this machine; slurm: as jobs on the Slurm cluster this machine submits to [env PERISCOPE_LAUNCHER] (default: local)')
    .option('--slurm-partition <name>', 'default partition of Slurm jobs (an experiment\'s slurm.partition wins) [env PERISCOPE_SLURM_PARTITION]')
    .option('--slurm-account <name>', 'default account of Slurm jobs [env PERISCOPE_SLURM_ACCOUNT]')
    .option('--slurm-qos <name>', 'default QOS of Slurm jobs [env PERISCOPE_SLURM_QOS]')
    .option('--slurm-args <options>', 'extra sbatch options for every job, e.g. "--exclusive --comment=ml" [env PERISCOPE_SLURM_ARGS]')
    .option('--auth <mode>', 'token: every API call needs a login token; none: no login, everyone is admin (loopback --host only) [env PERISCOPE_AUTH] (default: token)')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (with --tls-key) [env PERISCOPE_TLS_CERT]')
    .option('--tls-key <file>', 'PEM private key of --tls-cert [env PERISCOPE_TLS_KEY]')
    .option('--reset-admin-password', 'give the user admin a new random password, shown once, and file its token (for a lost first password)')
    .addHelpText(
      'after',
      `
On its first start the server creates the user admin with a random password, prints the password once,
and files an admin token in ~/.periscope/credentials (env PERISCOPE_CREDENTIALS) for the local CLI and SDK.

Flags win over environment variables. Examples:
  periscope server --port 8080 --db postgres://127.0.0.1:5432/periscope
  periscope server --host 0.0.0.0 --tls-cert server.pem --tls-key server-key.pem
  periscope server --launcher slurm --host 0.0.0.0 --slurm-partition gpu --data-dir /shared/periscope

With --launcher slurm the data dir must be on a filesystem every Slurm node sees (executors write their logs
and read their code there), and executors reach the API at this machine's hostname when --host is 0.0.0.0.`,
    )
    .action(async (flags: ServerFlags) => {
      await runServer(flags);
    });
}

function checkPort(value: string): string {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number 0-65535.');
  return value;
}

/**
 * The last line of defence (issue 22 §1): an error that escaped a background task (a callback, a timer, a
 * promise nobody awaited) is logged and the server keeps serving. Every other user's experiments and the
 * executors it watches depend on this process, and a restart would only meet the same input again. The real
 * handling is at each await in the tailer, launcher and recovery; this catches what they missed.
 */
function guardProcess(log: () => { error(details: object, message: string): void }): void {
  const report = (kind: string) => (error: unknown) => {
    try {
      log().error({ err: error instanceof Error ? error : new Error(String(error)) }, `${kind} (the server keeps serving)`);
    } catch {
      process.stderr.write(`periscope: ${kind}: ${String((error as Error)?.stack ?? error)}\n`);
    }
  };
  process.on('unhandledRejection', report('unhandled rejection'));
  process.on('uncaughtException', report('uncaught exception'));
}

const stderrLog = { error: (details: object, message: string) => process.stderr.write(`periscope: ${message}: ${String((details as { err?: Error }).err?.stack)}\n`) };

async function runServer(flags: ServerFlags): Promise<void> {
  let app: App | undefined;
  guardProcess(() => app?.http.log ?? stderrLog);
  let config;
  try {
    config = resolveConfig(flags);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    throw error;
  }
  let tls;
  try {
    tls = config.tls && { cert: await readFile(config.tls.certFile), key: await readFile(config.tls.keyFile) };
  } catch (error) {
    fail(`cannot read the TLS certificate or key: ${(error as Error).message}`, 2);
  }
  try {
    app = await createApp({
      database: config.database,
      dataDir: config.dataDir,
      capacity: config.capacity,
      launcher: config.launcher,
      auth: config.auth,
      ...(tls && { tls }),
      logger: { level: config.logLevel },
      holdRequests: true,
    });
  } catch (error) {
    if (error instanceof SecretKeyError) fail(`cannot start: ${error.message}`, 1);
    if (error instanceof EngineLeaseHeldError) fail(`cannot start: ${error.message}`, 1);
    fail(`cannot open the database (${describeDatabase(config.database)}): ${(error as Error).message}`, 1);
  }
  try {
    await app.http.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    fail(code === 'EADDRINUSE' ? `port ${config.port} on ${config.host} is already in use (try --port)` : (error as Error).message, 1);
  }
  const address = app.http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // Executors on this machine reach the API over loopback even when the server binds every interface; Slurm's
  // run on other nodes, which reach it by this machine's name.
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const local = wildcard ? (config.launcher.kind === 'slurm' ? hostname() : '127.0.0.1') : config.host;
  const scheme = tls ? 'https' : 'http';
  const master = `${scheme}://${local.includes(':') ? `[${local}]` : local}:${port}`;
  app.execution.setApiUrl(master, config.tls?.certFile);
  // Before the first request is answered and the listening line, so whoever waits for either finds the
  // credentials filed.
  if (config.auth === 'none') process.stdout.write('Authentication is off (--auth none): every request acts as admin.\n');
  await welcomeFirstAdmin(app, master, config.credentialsFile, config.resetAdminPassword);
  // A previous run's work is recovered now that its trials can be told the API's URL; requests wait for it.
  try {
    await app.open();
  } catch (error) {
    await app.close();
    fail(`cannot recover the previous run's work: ${(error as Error).message}`, 1);
  }
  process.stdout.write(`Periscope ${VERSION} listening on ${scheme}://${config.host}:${port} (${describeDatabase(config.database)})\n`);
  process.stdout.write(`${await app.execution.describe()}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.http.log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * On the first start, creates the admin, shows its password this once (on stdout, never in the log) and
 * files a token so the person who started the server can use the CLI and SDK at once.
 */
async function welcomeFirstAdmin(app: App, master: string, credentialsFile: string, reset: boolean): Promise<void> {
  const created = reset ? await app.users.resetFirstAdmin() : app.firstAdmin;
  if (!created) return;
  const { token } = await app.users.issueToken(created.username);
  let filed = `Logged in as ${created.username} for the CLI and SDK on this machine (${credentialsFile}).`;
  try {
    await fileToken(credentialsFile, master, created.username, token);
  } catch (error) {
    filed = `Could not write ${credentialsFile} (${(error as Error).message}); log in with: periscope user login ${created.username}`;
  }
  const what = reset ? `New password of ${created.username}:` : `Created the first user: ${created.username}, password`;
  process.stdout.write(`${what} ${created.password} (shown only now; change it with: periscope user set-password ${created.username})\n${filed}\n`);
}

function fail(message: string, exitCode: number): never {
  process.stderr.write(`periscope: ${message}\n`);
  process.exit(exitCode);
}
