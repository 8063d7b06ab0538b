/** `periscope checkpoint …`: list a trial's checkpoints, describe, download and delete one. */
import type { MetricValue } from '@periscope/core';
import type { Checkpoint } from '@periscope/sdk';
import { Command, Option } from 'commander';
import { Context } from '../context.js';
import { EXIT_CODES_HELP } from '../exit-codes.js';
import { renderFields, renderTable } from '../output/table.js';
import { relativeTime } from '../output/time.js';
import { translated } from './determined-errors.js';
import { nonNegativeInteger } from './parsers.js';

export function checkpointCommand(parent: Command): Command {
  const checkpoint = parent
    .command('checkpoint')
    .alias('ckpt')
    .description("List, inspect, download and delete trials' checkpoints.")
    .addHelpText('after', EXIT_CODES_HELP);

  checkpoint
    .command('list')
    .alias('ls')
    .description("A trial's checkpoints, as reported or ordered by a validation metric.")
    .argument('<trial-id>', 'trial id', nonNegativeInteger)
    .option('--sort-by <metric>', 'order by this validation metric')
    .addOption(new Option('--order <order>', 'with --sort-by: ascending or descending').choices(['asc', 'desc']).default('asc'))
    .action(async (trialId: number, flags: { sortBy?: string; order: 'asc' | 'desc' }, command: Command) => {
      const ctx = Context.of(command);
      const trial = await ctx.periscope.getTrial(trialId);
      const checkpoints = await trial.getCheckpoints(flags.sortBy !== undefined ? { sortBy: flags.sortBy, orderBy: flags.order } : {});
      if (ctx.json) return ctx.printJson(checkpoints);
      if (checkpoints.length === 0) return ctx.print(`Trial ${trialId} has no checkpoints.`);
      ctx.print(checkpointTable(checkpoints));
    });

  checkpoint
    .command('describe')
    .description('Show a checkpoint: trial, steps, state, files, metadata and the validation metrics at its step.')
    .argument('<uuid>', 'checkpoint uuid')
    .action(async (uuid: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.getCheckpoint(uuid);
      if (ctx.json) return ctx.printJson(found);
      ctx.print(checkpointDetails(found));
    });

  checkpoint
    .command('download')
    .description('Download the files of a checkpoint (and its metadata.json).')
    .argument('<uuid>', 'checkpoint uuid')
    .option('-o, --output <dir>', 'directory to write into (default: checkpoints/<uuid>)')
    .action(async (uuid: string, flags: { output?: string }, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.getCheckpoint(uuid);
      const dir = await translated(() => found.download(flags.output));
      if (ctx.json) return ctx.printJson({ uuid, dir });
      ctx.print(`Downloaded ${uuid} to ${dir}`);
    });

  checkpoint
    .command('delete')
    .alias('rm')
    .description("Delete a checkpoint's files (its record stays, DELETED).")
    .argument('<uuid>', 'checkpoint uuid')
    .action(async (uuid: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.getCheckpoint(uuid);
      await found.delete();
      if (ctx.json) return ctx.printJson(found);
      ctx.print(`Deleted checkpoint ${uuid}`);
    });
  return checkpoint;
}

export function checkpointTable(checkpoints: readonly Checkpoint[]): string {
  return renderTable(
    ['UUID', 'TRIAL', 'STEPS', 'STATE', 'VALIDATION', 'REPORTED'],
    checkpoints.map((c) => [c.uuid, String(c.trialId), String(c.stepsCompleted), c.state, metricsText(c.training.validationMetrics), relativeTime(c.reportTime)]),
  );
}

export function checkpointDetails(c: Checkpoint): string {
  const bytes = Object.values(c.resources).reduce((sum, n) => sum + n, 0);
  return renderFields([
    ['UUID', c.uuid],
    ['Experiment', c.experimentId],
    ['Trial', String(c.trialId)],
    ['Steps', String(c.stepsCompleted)],
    ['State', c.state],
    ['Reported', `${c.reportTime} (${relativeTime(c.reportTime)})`],
    ['Validation', metricsText(c.training.validationMetrics)],
    ['Hyperparameters', JSON.stringify(c.training.hparams)],
    ['Metadata', JSON.stringify(c.metadata)],
    ['Files', `${Object.keys(c.resources).length} (${bytes} bytes)`],
    ...Object.entries(c.resources).map(([file, size]): [string, string] => [`  ${file}`, `${size} bytes`]),
  ]);
}

export function metricsText(metrics: Record<string, MetricValue> | null | undefined): string {
  if (!metrics || Object.keys(metrics).length === 0) return '-';
  return Object.entries(metrics).map(([name, value]) => `${name}=${formatNumber(value)}`).join(' ');
}

function formatNumber(value: MetricValue): string {
  if (typeof value === 'string') return value;
  return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, '');
}
