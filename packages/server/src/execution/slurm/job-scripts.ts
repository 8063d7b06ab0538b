/**
 * What runs inside a Slurm job. A trial is one job (a heterogeneous job with one component per executor when
 * it has more than one), whose batch script starts one step per executor. Each step first says where it
 * landed (its node, step id and GPUs, in `landed`), then waits for `launch`: the server writes it once every
 * step of the gang has landed, with the environment computed from where they are (MASTER_ADDR is rank 0's
 * node), and the step runs the same wrapper the local launcher runs (stdout, stderr and exit files).
 *
 * The scripts are fixed text: paths arrive as positional parameters. `launch` is the one file built from
 * values, and only through shellWord(), which quotes every value (names are checked to be identifiers).
 */
import { ENV_NAME } from '@periscope/core';
import { WRAPPER_ARGV0, WRAPPER_SCRIPT } from '../local/wrapper.js';

export const JOB_FILES = { landed: 'landed', launch: 'launch', submission: 'submission', stepErrors: 'slurm-step.err' } as const;

/**
 * The batch script: `$1` is the step script (Slurm runs a copy of the batch script from its spool, so it
 * cannot be found next to it), the rest are the executors' dirs in het-group order; one step each, all waited for.
 * A single executor runs in the batch step itself: an srun step costs ~150 ms to start, and it has no gang to
 * share an allocation with.
 */
export const BATCH_SCRIPT = `#!/bin/sh
# Periscope: one Slurm step per executor (written by the server; see job-scripts.ts).
step=$1
shift
n=$#
if [ "$n" -eq 1 ]; then exec /bin/sh "$step" "$1" 0 batch 2>>"$1/${JOB_FILES.stepErrors}"; fi
i=0
for dir in "$@"; do
  if [ "$n" -gt 1 ]; then group="--het-group=$i"; else group="--ntasks=1"; fi
  srun "$group" --ntasks=1 --kill-on-bad-exit=0 --input=none --output=/dev/null --error="$dir/${JOB_FILES.stepErrors}" /bin/sh "$step" "$dir" "$i" &
  i=$((i + 1))
done
wait
`;

/**
 * One executor's step (`$1` its dir, `$2` its het group, `$3` "batch" when it is the batch step): report where
 * it landed, wait for the go-ahead with its environment, run it. A het component's steps are named by the
 * component's own job id. It waits as long as it takes (a restarting server launches it then), polling fast for
 * the first seconds, then every half second; a dir that is gone (the experiment was deleted) ends the wait.
 *
 * A job the server no longer stands behind leaves without running anything: its `$PERISCOPE_SUBMISSION` is not
 * the one in the executor's `submission` file (a newer submission of the executor replaced it, or a restarted
 * server abandoned a job a crash kept it from recording), nor the one its launch file is for. Jobs submitted by
 * servers older than this carry none and are not checked.
 */
export const STEP_SCRIPT = `#!/bin/sh
# Periscope: one executor inside its Slurm step (written by the server; see job-scripts.ts).
dir=$1
case $2 in *[!0-9]*|'') exit 125 ;; esac
ours() { [ -z "\${PERISCOPE_SUBMISSION:-}" ] || { read -r s 2>/dev/null <"$dir/${JOB_FILES.submission}" && [ "$s" = "$PERISCOPE_SUBMISSION" ]; }; }
[ -d "$dir" ] || exit 125
ours || exit 0
eval "job=\\\${SLURM_JOB_ID_HET_GROUP_$2:-\\$SLURM_JOB_ID}"
printf '%s\\n%s\\n%s\\n%s\\n' "\${SLURMD_NODENAME:-$(hostname)}" "$job.\${3:-$SLURM_STEP_ID}" "\${CUDA_VISIBLE_DEVICES:-}" "\${PERISCOPE_SUBMISSION:-}" >"$dir/${JOB_FILES.landed}.tmp" && mv "$dir/${JOB_FILES.landed}.tmp" "$dir/${JOB_FILES.landed}"
i=0
while [ ! -e "$dir/${JOB_FILES.launch}" ]; do
  [ -d "$dir" ] || exit 125
  ours || exit 0
  i=$((i + 1))
  if [ "$i" -le 300 ]; then sleep 0.01; else sleep 0.5; fi
done
. "$dir/${JOB_FILES.launch}"
exec "$@"
`;

/** A shell word that the shell reads back as exactly `value`: single-quoted, each quote as '\\''. */
export function shellWord(value: string): string {
  if (value.includes('\0')) throw new Error('a value holds a NUL byte, which no environment or argument can');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The step's `launch` file: into the work dir, export the environment, and set "$@" to the wrapper around
 * the command (the same wrapper, files and exit recording as the local launcher).
 */
export function launchFile(spec: { cwd: string; env: Record<string, string>; argv: string[]; stdout: string; stderr: string; exit: string; submission?: string }): string {
  const lines = [`cd ${shellWord(spec.cwd)} || exit 125`];
  // Sourced by whichever step finds it: one of another submission of this executor leaves (see STEP_SCRIPT).
  if (spec.submission !== undefined) lines.unshift(`[ "\${PERISCOPE_SUBMISSION:-}" = ${shellWord(spec.submission)} ] || exit 0`);
  for (const [name, value] of Object.entries(spec.env)) {
    if (!ENV_NAME.test(name)) throw new Error(`environment variable name ${JSON.stringify(name)} is not a valid name`);
    lines.push(`export ${name}=${shellWord(value)}`);
  }
  const argv = ['/bin/sh', '-c', WRAPPER_SCRIPT, WRAPPER_ARGV0, spec.stdout, spec.stderr, spec.exit, ...spec.argv];
  lines.push(`set -- ${argv.map(shellWord).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * What a step wrote on landing: its node, its `jobid.stepid` (`jobid.batch` for a lone executor), its GPUs, and
 * the submission it belongs to (null from a job of an older server).
 */
export interface Landed {
  node: string;
  step: string;
  gpus: number[] | null;
  submission: string | null;
}

export function parseLanded(text: string): Landed | null {
  const [node, step, gpus, submission] = text.split('\n');
  if (!node || !step || !/^\d+\.(\d+|batch)$/.test(step)) return null;
  const ids = (gpus ?? '').split(',').filter((g) => /^\d+$/.test(g)).map(Number);
  return { node, step, gpus: ids, submission: submission || null };
}
