import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseMemoryMb } from '@periscope/core';
import { isPostgresUrl } from './db/database.js';
import type { CapacityOverrides } from './execution/capacity.js';
import type { EngineOptions } from './execution/launcher.js';

/** What the user may pass on the command line; every field optional. */
export interface ServerFlags {
  dataDir?: string;
  db?: string;
  host?: string;
  port?: string;
  logLevel?: string;
  cpus?: string;
  memory?: string;
  gpus?: string;
  auth?: string;
  tlsCert?: string;
  tlsKey?: string;
  resetAdminPassword?: boolean;
  launcher?: string;
  slurmPartition?: string;
  slurmAccount?: string;
  slurmQos?: string;
  slurmArgs?: string;
}

/** Which engine runs executors: processes on this machine, or jobs on a Slurm cluster with these defaults. */
export type LauncherConfig = { kind: 'local' } | { kind: 'slurm'; defaults: EngineOptions };

/** The same with defaults filled in: flags win over environment variables, which win over defaults. */
export interface ServerConfig {
  /** Where the SQLite file, logs and work dirs live. Default `~/.periscope`. */
  dataDir: string;
  /** A SQLite file path or a `postgres://` URL. Default `<dataDir>/periscope.db`. */
  database: string;
  /** Default 127.0.0.1: loopback only unless asked. */
  host: string;
  /** Default 32080, Submarine's port in its docs. */
  port: number;
  logLevel: string;
  /** Overrides of the detected capacity of this node. */
  capacity: CapacityOverrides;
  /** `token` (default) or `none`, which only a loopback-bound server accepts. */
  auth: 'token' | 'none';
  /** PEM files: serve HTTPS. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Where the first admin's token is filed for the local CLI and SDK. */
  credentialsFile: string;
  /** Give `admin` a new random password on this start (shown once), e.g. when the first one was lost. */
  resetAdminPassword: boolean;
  /** Default local. */
  launcher: LauncherConfig;
}

export const DEFAULT_PORT = 32080;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {}

export function resolveConfig(flags: ServerFlags, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const dataDir = resolve(flags.dataDir ?? env.PERISCOPE_DATA_DIR ?? join(homedir(), '.periscope'));
  const db = flags.db ?? env.PERISCOPE_DB;
  const portText = flags.port ?? env.PERISCOPE_PORT ?? String(DEFAULT_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ConfigError(`port: "${portText}" is not a port number (0-65535)`);
  const logLevel = flags.logLevel ?? env.PERISCOPE_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`log level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const capacity: CapacityOverrides = {};
  const cpus = flags.cpus ?? env.PERISCOPE_CPUS;
  if (cpus !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(cpus) || Number(cpus) <= 0) throw new ConfigError(`cpus: "${cpus}" is not a positive number`);
    capacity.cpus = Number(cpus);
  }
  const memory = flags.memory ?? env.PERISCOPE_MEMORY;
  if (memory !== undefined) {
    try {
      capacity.memoryMb = parseMemoryMb(memory, 'memory');
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  const gpus = flags.gpus ?? env.PERISCOPE_GPUS;
  if (gpus !== undefined) {
    if (gpus !== 'none' && !/^\d+(,\d+)*$/.test(gpus)) throw new ConfigError(`gpus: "${gpus}" is not a list of GPU indices like 0,1 (or none)`);
    capacity.gpus = gpus === 'none' ? [] : [...new Set(gpus.split(',').map(Number))];
  }
  const host = flags.host ?? env.PERISCOPE_HOST ?? '127.0.0.1';
  const auth = flags.auth ?? env.PERISCOPE_AUTH ?? 'token';
  if (auth !== 'token' && auth !== 'none') throw new ConfigError(`auth: "${auth}" is not one of token, none`);
  if (auth === 'none' && !isLoopback(host)) {
    throw new ConfigError(`auth: none lets anyone who reaches the port act as admin, so it needs a loopback --host (127.0.0.1 or ::1), not ${host}`);
  }
  const certFile = flags.tlsCert ?? env.PERISCOPE_TLS_CERT;
  const keyFile = flags.tlsKey ?? env.PERISCOPE_TLS_KEY;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError('tls: give both --tls-cert and --tls-key (PEM files), or neither');
  return {
    capacity,
    launcher: launcherConfig(flags, env),
    dataDir,
    auth,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile: resolve(certFile), keyFile: resolve(keyFile) } : undefined,
    resetAdminPassword: flags.resetAdminPassword === true,
    credentialsFile: resolve(env.PERISCOPE_CREDENTIALS ?? join(homedir(), '.periscope', 'credentials')),
    database: db ? (isPostgresUrl(db) ? db : resolve(db)) : join(dataDir, 'periscope.db'),
    host,
    port,
    logLevel,
  };
}

/** The database target as it may be printed: a PostgreSQL URL loses its password. */
export function describeDatabase(database: string): string {
  if (!isPostgresUrl(database)) return `sqlite ${database}`;
  const url = new URL(database);
  if (url.password) url.password = '***';
  return `postgres ${url.toString()}`;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const SLURM_NAME = /^[A-Za-z0-9_.-]+$/;

function launcherConfig(flags: ServerFlags, env: NodeJS.ProcessEnv): LauncherConfig {
  const kind = flags.launcher ?? env.PERISCOPE_LAUNCHER ?? 'local';
  const partition = flags.slurmPartition ?? env.PERISCOPE_SLURM_PARTITION;
  const account = flags.slurmAccount ?? env.PERISCOPE_SLURM_ACCOUNT;
  const qos = flags.slurmQos ?? env.PERISCOPE_SLURM_QOS;
  const args = flags.slurmArgs ?? env.PERISCOPE_SLURM_ARGS;
  if (kind === 'local') {
    const given = [partition && '--slurm-partition', account && '--slurm-account', qos && '--slurm-qos', args && '--slurm-args'].filter(Boolean);
    if (given.length > 0) throw new ConfigError(`${given.join(', ')} only apply with --launcher slurm`);
    return { kind: 'local' };
  }
  if (kind !== 'slurm') throw new ConfigError(`launcher: "${kind}" is not a launcher (use local or slurm)`);
  const defaults: EngineOptions = {};
  for (const [name, value] of [['partition', partition], ['account', account], ['qos', qos]] as const) {
    if (value === undefined) continue;
    // A partition list (a,b) is Slurm's own syntax; anything else a name would not hold is refused.
    if (!(name === 'partition' ? /^[A-Za-z0-9_.,-]+$/ : SLURM_NAME).test(value)) throw new ConfigError(`slurm-${name}: "${value}" is not a Slurm ${name} name`);
    defaults[name] = value;
  }
  if (args !== undefined) {
    const extra = args.split(/\s+/).filter(Boolean);
    const bad = extra.find((a) => !/^--[A-Za-z]/.test(a));
    if (bad) throw new ConfigError(`slurm-args: "${bad}" is not an sbatch option; give each as --name=value, separated by spaces`);
    defaults.extraArgs = extra;
  }
  return { kind: 'slurm', defaults };
}
