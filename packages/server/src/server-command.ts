/** `periscope server`: starts the API on the embedded SQLite default or the given PostgreSQL. */
import { Command, InvalidArgumentError } from 'commander';
import { createApp } from './app.js';
import { ConfigError, describeDatabase, resolveConfig, type ServerFlags } from './config.js';
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
    .addHelpText('after', '\nFlags win over environment variables. Example:\n  periscope server --port 8080 --db postgres://127.0.0.1:5432/periscope')
    .action(async (flags: ServerFlags) => {
      await runServer(flags);
    });
}

function checkPort(value: string): string {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number 0-65535.');
  return value;
}

async function runServer(flags: ServerFlags): Promise<void> {
  let config;
  try {
    config = resolveConfig(flags);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    throw error;
  }
  let app;
  try {
    app = await createApp({ database: config.database, dataDir: config.dataDir, capacity: config.capacity, logger: { level: config.logLevel } });
  } catch (error) {
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
  // Executors on this machine reach the API over loopback even when the server binds every interface.
  const local = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  app.execution.setApiUrl(`http://${local.includes(':') ? `[${local}]` : local}:${port}`);
  process.stdout.write(`Periscope ${VERSION} listening on http://${config.host}:${port} (${describeDatabase(config.database)})\n`);
  const node = app.execution.node;
  const gpus = node.gpus.length === 0 ? 'no GPUs' : `GPUs ${node.gpus.map((g) => g.index).join(',')}`;
  process.stdout.write(`Local node ${node.name}: ${node.cpus} CPUs, ${node.memoryMb} MiB memory, ${gpus}\n`);

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

function fail(message: string, exitCode: number): never {
  process.stderr.write(`periscope: ${message}\n`);
  process.exit(exitCode);
}
