/** `periscope trial …`: an experiment's trials, one trial's details, logs and metrics. */
import type { MetricReport } from '@periscope/core';
import { Command, Option } from 'commander';
import { Context } from '../context.js';
import { EXIT_CODES_HELP, UsageError } from '../exit-codes.js';
import { renderFields, renderTable } from '../output/table.js';
import { relativeTime, span } from '../output/time.js';
import { metricsText } from './checkpoint.js';
import { translated } from './determined-errors.js';
import { nonNegativeInteger } from './parsers.js';

export function trialCommand(parent: Command): Command {
  const trial = parent
    .command('trial')
    .description("List an experiment's trials; show a trial, its logs and its metrics.")
    .addHelpText('after', EXIT_CODES_HELP);

  trial
    .command('list')
    .alias('ls')
    .description("An experiment's trials with their state and hyperparameters.")
    .argument('<experiment-id>', 'experiment id')
    .action(async (experimentId: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const trials = await (await ctx.periscope.getExperiment(experimentId)).getTrials({ sortBy: 'number' });
      if (ctx.json) return ctx.printJson(trials.map((t) => t.info));
      if (trials.length === 0) return ctx.print(`Experiment ${experimentId} has no trials yet.`);
      ctx.print(
        renderTable(
          ['ID', '#', 'STATE', 'RESTARTS', 'DURATION', 'HYPERPARAMETERS'],
          trials.map((t) => [String(t.id), String(t.info!.number), t.info!.state, String(t.info!.restarts), span(t.info!.startedTime, t.info!.finishedTime), JSON.stringify(t.info!.hparams)]),
        ),
      );
    });

  trial
    .command('describe')
    .description('Show a trial: state, hyperparameters, executors, latest validation and checkpoints.')
    .argument('<trial-id>', 'trial id', nonNegativeInteger)
    .action(async (trialId: number, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const ref = await ctx.periscope.getTrial(trialId);
      const info = ref.info!;
      const validation: MetricReport[] = [];
      for await (const report of ref.metrics({ group: 'validation' })) validation.push(report);
      const checkpoints = await ref.getCheckpoints();
      if (ctx.json) return ctx.printJson({ ...info, latestValidation: validation.at(-1) ?? null, checkpoints });
      ctx.print(
        renderFields([
          ['Trial', `${info.id} (#${info.number} of ${info.experimentId})`],
          ['State', info.message ? `${info.state}: ${info.message}` : info.state],
          ['Hyperparameters', JSON.stringify(info.hparams)],
          ['Restarts', String(info.restarts)],
          ['Started', info.startedTime ? `${info.startedTime} (${relativeTime(info.startedTime)})` : '-'],
          ['Duration', span(info.startedTime, info.finishedTime)],
          ['Executors', info.executors.map((e) => `${e.name} (${e.state})`).join(', ') || '-'],
          ['Validation', validation.length > 0 ? `step ${validation.at(-1)!.stepsCompleted}: ${metricsText(validation.at(-1)!.metrics)}` : '-'],
          ['Checkpoints', String(checkpoints.length)],
        ]),
      );
    });

  trial
    .command('logs')
    .description("A trial's log lines: all, the first or last N, or followed until the trial ends.")
    .argument('<trial-id>', 'trial id', nonNegativeInteger)
    .option('-f, --follow', 'keep printing lines as they are written, until the trial ends')
    .option('--head <n>', 'only the first N lines (at most 100,000; without --head or --tail every line is printed, a page at a time)', nonNegativeInteger)
    .option('--tail <n>', 'only the last N lines (at most 100,000)', nonNegativeInteger)
    .option('--rank <rank...>', 'only these ranks', (value: string, previous: number[] = []) => [...previous, nonNegativeInteger(value)])
    .addOption(new Option('--stream <stream>', 'only stdout or stderr').choices(['stdout', 'stderr']))
    .addHelpText('after', '\n--follow, --head and --tail are mutually exclusive.\n\nExample:\n  periscope trial logs 12 --tail 20')
    .action(async (trialId: number, flags: { follow?: boolean; head?: number; tail?: number; rank?: number[]; stream?: 'stdout' | 'stderr' }, command: Command) => {
      const ctx = Context.of(command);
      const given = ['follow', 'head', 'tail'].filter((k) => flags[k as keyof typeof flags] !== undefined);
      if (given.length > 1) throw new UsageError(`--${given.join(' and --')} are mutually exclusive`);
      const ref = await ctx.periscope.getTrial(trialId);
      const lines = await translated(async () =>
        ref.logLines({
          ...(flags.follow && { follow: true }),
          ...(flags.head !== undefined && { head: flags.head }),
          ...(flags.tail !== undefined && { tail: flags.tail }),
          ...(flags.rank && { ranks: flags.rank }),
          ...(flags.stream && { stdtypes: [flags.stream] }),
        }),
      );
      for await (const line of lines) ctx.print(ctx.json ? JSON.stringify(line) : line.text);
    });

  trial
    .command('metrics')
    .description("A trial's reported metrics, one row per report.")
    .argument('<trial-id>', 'trial id', nonNegativeInteger)
    .addOption(new Option('--group <group>', 'only training or validation metrics').choices(['training', 'validation']))
    .action(async (trialId: number, flags: { group?: 'training' | 'validation' }, command: Command) => {
      const ctx = Context.of(command);
      const ref = await ctx.periscope.getTrial(trialId);
      const reports: MetricReport[] = [];
      for await (const report of ref.metrics(flags.group ? { group: flags.group } : {})) reports.push(report);
      if (ctx.json) return ctx.printJson(reports);
      if (reports.length === 0) return ctx.print(`Trial ${trialId} reported no ${flags.group ?? ''} metrics.`.replace('  ', ' '));
      const names = [...new Set(reports.flatMap((r) => Object.keys(r.metrics)))].sort();
      ctx.print(
        renderTable(
          ['GROUP', 'STEPS', ...names.map((n) => n.toUpperCase())],
          reports.map((r) => [r.group, String(r.stepsCompleted), ...names.map((n) => (r.metrics[n] === undefined ? '-' : String(r.metrics[n])))]),
        ),
      );
    });
  return trial;
}
