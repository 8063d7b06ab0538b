/**
 * The Determined-style additions to `periscope experiment`: create from a config and a model directory
 * (`experiment create CONFIG MODEL_DIR`, next to the Submarine form `experiment create -f SPEC`) and
 * `experiment top-checkpoint ID`.
 */
import { Command, Option } from 'commander';
import { Context } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { checkpointDetails, checkpointTable } from './checkpoint.js';
import { translated } from './determined-errors.js';
import { nonNegativeInteger } from './parsers.js';
import { followAndReport, waitAndReport } from './wait.js';

export interface ModelDirFlags {
  include?: string[];
  wait?: boolean;
  follow?: boolean;
}

/**
 * `experiment create CONFIG MODEL_DIR`: packs and uploads MODEL_DIR, converts CONFIG (a Determined YAML
 * config, or a Periscope spec) and creates the experiment; conversion warnings go to stderr.
 */
export async function createFromModelDir(ctx: Context, config: string, modelDir: string, flags: ModelDirFlags): Promise<void> {
  const reference = await translated(() => ctx.periscope.createExperiment(config, modelDir, { includes: flags.include ?? [] }));
  for (const warning of reference.warnings) ctx.note(`warning: ${warning}`);
  const created = await ctx.periscope.experiments.get(reference.id);
  if (ctx.json && !flags.wait && !flags.follow) return ctx.printJson(created);
  const line = `Created ${created.experimentId} (${created.spec.meta.name}) from ${config} with the code in ${modelDir}`;
  if (ctx.json || flags.follow) ctx.note(line);
  else ctx.print(line);
  if (flags.follow) await followAndReport(ctx, created, {});
  else if (flags.wait) await waitAndReport(ctx, created.experimentId, {});
}

/** The positional form's arguments and flags, added to the existing `experiment create`. */
export function addModelDirArguments(create: Command): Command {
  return create
    .argument('[config]', 'a Determined experiment config (YAML) or a Periscope spec, with MODEL_DIR')
    .argument('[model-dir]', 'the directory of the training code: packed, uploaded and unpacked as the working directory')
    .option('-i, --include <path...>', 'with MODEL_DIR: more files or directories to pack beside the code')
    .addHelpText('after', '\nOr from a Determined config and a model directory:\n  periscope experiment create const.yaml ./model --follow');
}

/** Which form of `experiment create` the command line asked for. */
export function createForm(file: string | undefined, config: string | undefined, modelDir: string | undefined, include: string[] | undefined): 'spec' | 'model-dir' {
  if (file !== undefined && config !== undefined) throw new UsageError('pass either -f SPEC or CONFIG MODEL_DIR, not both');
  if (file !== undefined) {
    if (include) throw new UsageError('--include goes with CONFIG MODEL_DIR, not with -f');
    return 'spec';
  }
  if (config === undefined) throw new UsageError('missing the experiment: pass -f SPEC, or CONFIG MODEL_DIR');
  if (modelDir === undefined) throw new UsageError(`missing MODEL_DIR after ${config} (the directory holding the training code)`);
  return 'model-dir';
}

export function topCheckpointCommand(experiment: Command): Command {
  return experiment
    .command('top-checkpoint')
    .description("The checkpoint with the best validation metric (default: the searcher's metric and direction).")
    .argument('<id>', 'experiment id')
    .option('--sort-by <metric>', 'rank by this validation metric')
    .addOption(new Option('--smaller-is-better', 'smaller values of the metric are better').conflicts('largerIsBetter'))
    .addOption(new Option('--larger-is-better', 'larger values of the metric are better'))
    .option('-n, --limit <n>', 'the best checkpoint of each of the N best trials', nonNegativeInteger)
    .addHelpText('after', '\nExample:\n  periscope experiment top-checkpoint experiment-1647574374688-0002 --sort-by accuracy --larger-is-better')
    .action(async (id: string, flags: { sortBy?: string; smallerIsBetter?: boolean; largerIsBetter?: boolean; limit?: number }, command: Command) => {
      const ctx = Context.of(command);
      if (flags.limit === 0) throw new UsageError('--limit must be 1 or more');
      const reference = await ctx.periscope.getExperiment(id);
      const order = {
        ...(flags.sortBy !== undefined && { sortBy: flags.sortBy }),
        ...(flags.smallerIsBetter && { smallerIsBetter: true }),
        ...(flags.largerIsBetter && { smallerIsBetter: false }),
      };
      if (flags.limit !== undefined) {
        const top = await translated(() => reference.topNCheckpoints(flags.limit!, order));
        if (ctx.json) return ctx.printJson(top);
        return ctx.print(top.length === 0 ? `Experiment ${id} has no checkpoints.` : checkpointTable(top));
      }
      const best = await translated(() => reference.topCheckpoint(order));
      if (ctx.json) return ctx.printJson(best);
      ctx.print(checkpointDetails(best));
    });
}
