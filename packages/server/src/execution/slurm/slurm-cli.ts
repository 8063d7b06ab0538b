/**
 * The Slurm CLI as the launcher's only interface to the cluster (slurmrestd refuses root and needs a socket;
 * the CLI is what every cluster has). Every call is an argv, never a shell string; each has a deadline, and a
 * failure comes back as a SlurmError carrying what the command said.
 */
import { execFile } from 'node:child_process';
import { Gate } from '../../gate.js';

export class SlurmError extends Error {
  constructor(
    message: string,
    /** Whether the controller could not be reached at all (as opposed to refusing the request). */
    readonly unreachable = false,
  ) {
    super(message);
  }
}

/** Where the Slurm commands are (a dir prefix for tests or unusual installs; default: on PATH). */
export interface SlurmCliOptions {
  binDir?: string;
  /** Per-command deadline in ms (default 30 s: a busy controller answers slowly, a dead one not at all). */
  timeoutMs?: number;
  /** The environment sbatch runs with (and so, by --export=ALL, what the job inherits). */
  env?: NodeJS.ProcessEnv;
}

const UNREACHABLE = /Unable to contact slurm controller|Connection refused|Socket timed out|Zero Bytes were transmitted|Unable to establish|slurm_load_.*(?:Connection|timed out)/i;

const SBATCH_IN_FLIGHT = 4;

export class SlurmCli {
  private readonly submitting = new Gate(SBATCH_IN_FLIGHT);

  constructor(private readonly options: SlurmCliOptions = {}) {}

  private bin(name: string): string {
    return this.options.binDir ? `${this.options.binDir}/${name}` : name;
  }

  /** Runs one Slurm command; resolves its stdout, or rejects with a SlurmError that names the command and what it said. */
  run(command: 'sbatch' | 'squeue' | 'scancel' | 'sinfo' | 'scontrol', args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        this.bin(command),
        args,
        { timeout: this.options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, env: env ?? this.options.env ?? process.env, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const said = (stderr || stdout || '').trim().replace(/\s+/g, ' ').slice(0, 500);
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return reject(new SlurmError(`${command} is not installed (not found on PATH${this.options.binDir ? ` or in ${this.options.binDir}` : ''}): is this a Slurm submit host?`, true));
          if ((error as { killed?: boolean }).killed) return reject(new SlurmError(`${command} did not answer within ${Math.round((this.options.timeoutMs ?? 30_000) / 1000)} s: the Slurm controller is unreachable or overloaded`, true));
          reject(new SlurmError(`${command} failed: ${said || `exit code ${String((error as { code?: unknown }).code)}`}`, UNREACHABLE.test(said)));
        },
      );
    });
  }

  /**
   * Submits a batch job; answers its job id (the het job's leader for a heterogeneous job). At most
   * SBATCH_IN_FLIGHT run at once: a hundred trials created together would otherwise start a hundred sbatch
   * processes that all wait on the one controller, and each spawn stalls the server's event loop.
   */
  async sbatch(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const out = (await this.submitting.run(() => this.run('sbatch', ['--parsable', ...args], env))).trim();
    // --parsable prints "jobid" or "jobid;cluster".
    const id = out.split(';')[0]!.trim();
    if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch answered no job id: ${out.slice(0, 200)}`);
    return id;
  }

  /** Every job of ours that Slurm still knows, ended ones included (kept MinJobAge seconds). */
  async jobs(): Promise<SlurmJobRow[]> {
    return parseSqueue(await this.run('squeue', ['--me', '--noheader', '--states=all', `--format=${SQUEUE_FORMAT}`]));
  }

  /** The job steps running now, as `jobid.stepid` (a het job's components have job ids of their own). */
  async steps(): Promise<Set<string>> {
    const out = await this.run('squeue', ['--me', '--noheader', '--steps', '--format=%i']);
    return new Set(out.split('\n').map((l) => l.trim()).filter(Boolean));
  }

  async cancel(target: string, signal?: 'TERM' | 'KILL'): Promise<void> {
    await this.run('scancel', [...(signal ? [`--signal=${signal}`] : []), target]);
  }

  /** `scontrol show node -o`: one line per node. */
  async nodes(): Promise<string> {
    return this.run('scontrol', ['show', 'node', '--oneliner']);
  }

  /** Whether the controller answers (health). */
  async ping(): Promise<string> {
    return (await this.run('scontrol', ['ping'])).trim();
  }

  /** `scontrol show job -o <id>`: the job's record while the controller keeps it (one line per het component). */
  async job(id: string): Promise<string> {
    return this.run('scontrol', ['show', 'job', '--oneliner', id]);
  }
}

export interface SlurmJobRow {
  /** The job id as Slurm shows it: `12`, or `12+1` for component 1 of het job 12. */
  id: string;
  /** The job (het job leader) this row belongs to. */
  jobId: string;
  state: string;
  reason: string;
  nodes: string;
}

const SQUEUE_FORMAT = '%i|%T|%r|%N';

export function parseSqueue(out: string): SlurmJobRow[] {
  const rows: SlurmJobRow[] = [];
  for (const line of out.split('\n')) {
    const [id, state, reason, nodes] = line.trim().split('|');
    const match = id && /^(\d+)(?:\+\d+)?$/.exec(id);
    if (!match || !state) continue;
    rows.push({ id, jobId: match[1]!, state, reason: reason ?? '', nodes: nodes ?? '' });
  }
  return rows;
}

/** `key=value key2=value2 …` of a scontrol one-liner; values with spaces (OS=…) run to the next key. */
export function parseScontrolLine(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9/:_]*)=/g;
  const keys: { key: string; start: number; valueStart: number }[] = [];
  for (let m = re.exec(line); m !== null; m = re.exec(line)) keys.push({ key: m[1]!, start: m.index, valueStart: m.index + m[0].length });
  keys.forEach((k, i) => {
    fields[k.key] = line.slice(k.valueStart, i + 1 < keys.length ? keys[i + 1]!.start : line.length).trim();
  });
  return fields;
}
