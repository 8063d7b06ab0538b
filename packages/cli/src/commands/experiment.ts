/** `periscope experiment …`: create, list, get, patch, delete, logs, wait, cancel, top-checkpoint. */
import type { ExperimentSpec } from '@periscope/sdk';
import { Command, Option } from 'commander';
import { Context } from '../context.js';
import { EXIT_CODES_HELP } from '../exit-codes.js';
import { experimentDetails, experimentTable, roleSummary } from '../output/experiments.js';
import { readSpecFile } from '../spec-file.js';
import { addModelDirArguments, createForm, createFromModelDir, topCheckpointCommand } from './experiment-determined.js';
import { printLog, podLabels } from './logs.js';
import { nonNegativeInteger, seconds } from './parsers.js';
import { followAndReport, waitAndReport } from './wait.js';

const SPEC_HELP = 'experiment spec, JSON or YAML (Submarine ExperimentSpec: meta, environment, spec, code); - for stdin';

export function experimentCommand(parent: Command): Command {
  const experiment = parent
    .command('experiment')
    .alias('exp')
    .description('Create, inspect, follow and remove experiments.')
    .addHelpText('after', EXIT_CODES_HELP);

  addModelDirArguments(
    experiment
      .command('create')
      .description('Create an experiment from a spec file, or from a config and a model directory; it starts as soon as it is scheduled.')
      .option('-f, --file <path>', SPEC_HELP)
      .option('--wait', 'then wait until it ends (exit 0 if it Succeeded, 1 if not)')
      .option('--follow', 'then print its logs as they are written, until it ends (exit code as --wait)')
      .addHelpText('after', '\nExample:\n  periscope experiment create -f mnist.yaml --follow'),
  ).action(async (config: string | undefined, modelDir: string | undefined, flags: { file?: string; include?: string[]; wait?: boolean; follow?: boolean }, command: Command) => {
    const ctx = Context.of(command);
    if (createForm(flags.file, config, modelDir, flags.include) === 'model-dir') return createFromModelDir(ctx, config!, modelDir!, flags);
    const spec = (await readSpecFile(flags.file!, 'an experiment spec')) as unknown as ExperimentSpec;
    const created = await ctx.periscope.experiments.create(spec);
    if (ctx.json && !flags.wait && !flags.follow) return ctx.printJson(created);
    const line = `Created ${created.experimentId} (${created.spec.meta.name}, ${created.spec.meta.framework}, ${roleSummary(created)})`;
    if (ctx.json) ctx.note(line);
    else if (flags.follow) ctx.note(line);
    else ctx.print(line);
    if (flags.follow) await followAndReport(ctx, created, {});
    else if (flags.wait) await waitAndReport(ctx, created.experimentId, {});
  });
  topCheckpointCommand(experiment);

  experiment
    .command('list')
    .alias('ls')
    .description('List experiments, oldest first.')
    .option('-s, --status <status>', 'only this status: Accepted, Created, Running, Succeeded, Failed (any case)')
    .action(async (flags: { status?: string }, command: Command) => {
      const ctx = Context.of(command);
      const experiments = [];
      for await (const e of ctx.periscope.experiments.iterate(flags.status !== undefined ? { status: flags.status } : {})) experiments.push(e);
      if (ctx.json) return ctx.printJson(experiments);
      if (experiments.length === 0) return ctx.print(flags.status ? `No ${flags.status} experiments.` : 'No experiments.');
      ctx.print(experimentTable(experiments, ctx.out));
    });

  experiment
    .command('get')
    .description('Show an experiment: status, times, roles and executors.')
    .argument('<id>', 'experiment id, e.g. experiment-1647574374688-0002')
    .action(async (id: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.experiments.get(id);
      if (ctx.json) return ctx.printJson(found);
      const trials = await ctx.periscope.experiments.trials(id).catch(() => undefined);
      ctx.print(experimentDetails(found, trials, ctx.out));
    });

  experiment
    .command('patch')
    .description("Replace an experiment's spec (a full replacement, not a merge); status and times are kept.")
    .argument('<id>', 'experiment id')
    .requiredOption('-f, --file <path>', SPEC_HELP)
    .action(async (id: string, flags: { file: string }, command: Command) => {
      const ctx = Context.of(command);
      const spec = (await readSpecFile(flags.file, 'an experiment spec')) as unknown as ExperimentSpec;
      const patched = await ctx.periscope.experiments.patch(id, spec);
      if (ctx.json) return ctx.printJson(patched);
      ctx.print(`Patched ${patched.experimentId} (${patched.spec.meta.name}, ${roleSummary(patched)})`);
    });

  experiment
    .command('delete')
    .alias('rm')
    .description('Delete an experiment, stopping it first if it runs; its logs go with it.')
    .argument('<id>', 'experiment id')
    .action(async (id: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const deleted = await ctx.periscope.experiments.delete(id);
      if (ctx.json) return ctx.printJson(deleted);
      ctx.print(`Deleted ${deleted.experimentId}`);
    });

  experiment
    .command('cancel')
    .description('Stop a running experiment (SIGTERM, then SIGKILL after the grace period); it ends Failed.')
    .argument('<id>', 'experiment id')
    .action(async (id: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const canceled = await ctx.periscope.experiments.cancel(id);
      if (ctx.json) return ctx.printJson(canceled);
      ctx.print(`Canceled ${canceled.experimentId} (now ${ctx.out.status(canceled.status)})`);
    });

  experiment
    .command('logs')
    .description("Print an experiment's logs, pod by pod; -f keeps printing new lines until it ends.")
    .argument('<id>', 'experiment id')
    .option('-f, --follow', 'keep printing lines as they are written until the experiment ends (then exit as wait does)')
    .addOption(new Option('--tail <n>', 'only the last N lines of each pod').argParser(nonNegativeInteger))
    .option('--only-master', 'only the master pod (Master, else Chief, else the first pod)')
    .action(async (id: string, flags: { follow?: boolean; tail?: number; onlyMaster?: boolean }, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.experiments.get(id);
      if (flags.follow) return followAndReport(ctx, found, flags);
      const log = await ctx.periscope.experiments.logs(id, { onlyMaster: flags.onlyMaster === true });
      printLog(ctx, podLabels(found, flags.onlyMaster === true, ctx.out), log, flags.tail);
    });

  experiment
    .command('wait')
    .description('Wait until an experiment ends: exit 0 if it Succeeded, 1 if it Failed or was deleted.')
    .argument('<id>', 'experiment id')
    .addOption(new Option('--timeout <seconds>', 'give up (exit 1) after this long').argParser(seconds))
    .action(async (id: string, flags: { timeout?: number }, command: Command) => {
      await waitAndReport(Context.of(command), id, flags);
    });

  return experiment;
}
