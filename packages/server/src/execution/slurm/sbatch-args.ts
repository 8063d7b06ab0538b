/**
 * A gang as sbatch's argv: one het-job component per executor (separated by `:`), each with its resources,
 * placement constraints, time limit and engine options. Nothing here reaches a shell.
 */
import type { EngineOptions, GangSpec, LaunchSpec } from '../launcher.js';

/** Server-wide defaults; a gang's own engine options (the experiment's `slurm:` block) win. */
export type SlurmDefaults = EngineOptions;

/** Slurm's time limit: minutes:seconds, rounded up to whole seconds. */
export function slurmTime(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** `nodeSelector` selects by feature: `{a100: "true"}` is `a100`, `{gpu: "a100"}` is the feature `gpu=a100`. */
export function constraintOf(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => (v === 'true' ? k : `${k}=${v}`))
    .join('&');
}

function componentArgs(e: LaunchSpec, gang: GangSpec, engine: EngineOptions): string[] {
  const args = ['--ntasks=1', `--cpus-per-task=${Math.max(1, Math.ceil(e.resources.cpu))}`];
  if (e.resources.memoryMb > 0) args.push(`--mem=${e.resources.memoryMb}M`);
  if (e.resources.gpu > 0) args.push(`--gres=gpu:${e.resources.gpu}`);
  if (e.nodes && e.nodes.length > 0) args.push(`--nodelist=${e.nodes.join(',')}`);
  if (e.nodeSelector && Object.keys(e.nodeSelector).length > 0) args.push(`--constraint=${constraintOf(e.nodeSelector)}`);
  if (gang.timeLimitS !== undefined) args.push(`--time=${slurmTime(gang.timeLimitS)}`);
  if (engine.partition) args.push(`--partition=${engine.partition}`);
  if (engine.account) args.push(`--account=${engine.account}`);
  if (engine.qos) args.push(`--qos=${engine.qos}`);
  args.push(...(engine.extraArgs ?? []));
  return args;
}

/**
 * The whole sbatch argv (after `--parsable`): job-wide options, the components, the batch script with the step
 * script and the executors' dirs as its arguments. Periscope restarts trials itself, so Slurm never requeues them.
 */
export function sbatchArgs(gang: GangSpec, defaults: SlurmDefaults, scripts: { batch: string; step: string }, jobOutput: string): string[] {
  const engine: EngineOptions = {
    ...defaults,
    ...Object.fromEntries(Object.entries(gang.engine ?? {}).filter(([, v]) => v !== undefined)),
    extraArgs: [...(defaults.extraArgs ?? []), ...(gang.engine?.extraArgs ?? [])],
  };
  const first = gang.executors[0]!;
  const head = [`--job-name=periscope-${gang.experimentId}-t${gang.trialId}`, `--output=${jobOutput}`, '--open-mode=append', `--chdir=${first.cwd}`, '--export=ALL', '--no-requeue'];
  const components = gang.executors.map((e, i) => [...(i > 0 ? [':'] : []), ...componentArgs(e, gang, engine)]);
  return [...head, ...components.flat(), scripts.batch, scripts.step, ...gang.executors.map((e) => e.logDir)];
}
