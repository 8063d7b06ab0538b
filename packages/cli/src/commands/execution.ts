/**
 * `periscope execution …` and `periscope executor cancel`: netunicorn's lifecycle by a name you choose —
 * prepare (PREPARING, then READY), start, status, cancel, delete — and stopping single executors.
 */
import { PeriscopeTimeoutError, type ExecutionInfo, type ExperimentSpec, type Trial } from '@periscope/sdk';
import { Command, Option } from 'commander';
import { Context } from '../context.js';
import { CommandFailure, EXIT, EXIT_CODES_HELP } from '../exit-codes.js';
import { executionDetails, executionTable, failureSummary } from '../output/executions.js';
import { ProgressLine } from '../output/progress.js';
import { readSpecFile } from '../spec-file.js';
import { seconds } from './parsers.js';

const SPEC_HELP = 'experiment spec, JSON or YAML (meta, environment, spec, code); - for stdin';

interface WaitFlags {
  wait?: boolean;
  timeout?: number;
}

export function executionCommand(parent: Command): Command {
  const execution = parent
    .command('execution')
    .alias('exec')
    .description('Prepare and start experiments in two steps under a name you choose (netunicorn style).')
    .addHelpText(
      'after',
      `
Statuses: PREPARING → READY (prepared, nothing runs) → RUNNING → FINISHED; UNKNOWN once gone.
${EXIT_CODES_HELP}

Example:
  periscope execution prepare sweep-1 -f job.yaml --wait   # until READY
  periscope execution start sweep-1 --wait                 # until FINISHED; exit 0 if it succeeded`,
    );

  execution
    .command('prepare')
    .description('Prepare an experiment under NAME; safe to repeat with the same spec (a different one is refused).')
    .argument('<name>', 'execution name: letters, digits, ".", "_", "-"')
    .requiredOption('-f, --file <path>', SPEC_HELP)
    .option('--start', 'start it once it is READY')
    .option('--wait', 'wait until it is READY (with --start: until FINISHED, exit 0 if it succeeded)')
    .addOption(new Option('--timeout <seconds>', 'with --wait: give up (exit 1) after this long').argParser(seconds))
    .action(async (name: string, flags: WaitFlags & { file: string; start?: boolean }, command: Command) => {
      const ctx = Context.of(command);
      const spec = (await readSpecFile(flags.file, 'an experiment spec')) as unknown as ExperimentSpec;
      const prepared = await ctx.periscope.executions.prepare(name, spec);
      const line = `Prepared ${name} (${prepared.experiment.experimentId}, ${prepared.status})`;
      if (!flags.start && !flags.wait) return ctx.json ? ctx.printJson(prepared) : ctx.print(line);
      ctx.note(line);
      const started = Date.now();
      const ready = await waitFor(ctx, name, 'READY', flags.timeout);
      if (!flags.start) return report(ctx, ready, 'READY');
      // Ended without running (its preparation failed), or someone ran it to the end meanwhile.
      if (ready.status === 'FINISHED' || ready.status === 'UNKNOWN') return report(ctx, ready, 'FINISHED');
      const afterStart = await ctx.periscope.executions.start(name);
      if (!flags.wait) return ctx.json ? ctx.printJson(afterStart) : ctx.print(`Started ${name} (${afterStart.status})`);
      ctx.note(`Started ${name}`);
      const left = flags.timeout !== undefined ? Math.max(0, flags.timeout - (Date.now() - started) / 1000) : undefined;
      return report(ctx, await waitFor(ctx, name, 'FINISHED', left), 'FINISHED');
    });

  execution
    .command('start')
    .description('Start a prepared execution; safe to repeat (it never launches twice).')
    .argument('<name>', 'execution name')
    .option('--wait', 'then wait until it is FINISHED (exit 0 if it succeeded, 1 if not)')
    .addOption(new Option('--timeout <seconds>', 'with --wait: give up (exit 1) after this long').argParser(seconds))
    .action(async (name: string, flags: WaitFlags, command: Command) => {
      const ctx = Context.of(command);
      const started = await ctx.periscope.executions.start(name);
      if (!flags.wait) return ctx.json ? ctx.printJson(started) : ctx.print(`Started ${name} (${started.status})`);
      ctx.note(`Started ${name}`);
      return report(ctx, await waitFor(ctx, name, 'FINISHED', flags.timeout), 'FINISHED');
    });

  execution
    .command('status')
    .description('Show an execution: status, experiment, and each executor with its node, state, exit code and error.')
    .argument('<name>', 'execution name')
    .action(async (name: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const info = await ctx.periscope.executions.status(name);
      if (ctx.json) return ctx.printJson(info);
      ctx.print(executionDetails(info, await lastTrial(ctx, info), ctx.out));
    });

  execution
    .command('list')
    .alias('ls')
    .description('List executions by name.')
    .action(async (_flags: object, command: Command) => {
      const ctx = Context.of(command);
      const all = await ctx.periscope.executions.list();
      if (ctx.json) return ctx.printJson(all);
      const infos = Object.values(all);
      if (infos.length === 0) return ctx.print('No executions.');
      ctx.print(executionTable(infos, ctx.out));
    });

  execution
    .command('cancel')
    .description('Stop every executor of an execution (SIGTERM, then SIGKILL after the grace period).')
    .argument('<name>', 'execution name')
    .action(async (name: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const info = await ctx.periscope.executions.cancel(name);
      if (ctx.json) return ctx.printJson(info);
      ctx.print(`Canceled ${name} (now ${ctx.out.status(info.status)}, ${ctx.out.status(info.experiment.status)})`);
    });

  execution
    .command('delete')
    .alias('rm')
    .description('Delete an execution that is not preparing or running, freeing its name.')
    .argument('<name>', 'execution name')
    .action(async (name: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const info = await ctx.periscope.executions.delete(name);
      if (ctx.json) return ctx.printJson(info);
      ctx.print(`Deleted ${name} (${info.experiment.experimentId})`);
    });

  return execution;
}

export function executorCommand(parent: Command): Command {
  const executor = parent.command('executor').description('Act on single executors (the rest of their executions run on).');
  executor
    .command('cancel')
    .description('Stop the named executors (see `execution status`); ones that already ended are reported, not refused.')
    .argument('<names...>', 'executor names, e.g. experiment-1647574374688-0001-worker-1')
    .action(async (names: string[], _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const result = await ctx.periscope.executions.cancelExecutors(names);
      if (ctx.json) return ctx.printJson(result);
      for (const name of result.canceled) ctx.print(`Canceled ${name}`);
      for (const name of result.alreadyEnded) ctx.print(`${name} had already ended`);
    });
  return executor;
}

/** Waits with a live line on a terminal (status changes on stderr otherwise); a timeout exits 1. */
async function waitFor(ctx: Context, name: string, until: 'READY' | 'FINISHED', timeout: number | undefined): Promise<ExecutionInfo> {
  const progress = !ctx.json && ctx.stderrIsTerminal ? new ProgressLine(name, ctx.err) : undefined;
  let last: string | undefined;
  try {
    return await ctx.periscope.executions.wait(name, {
      until,
      ...(timeout !== undefined && { timeoutMs: Math.round(timeout * 1000) }),
      onProgress: (info, elapsedMs) => {
        if (progress) progress.update(info.status, elapsedMs);
        else if (!ctx.json && info.status !== last && info.status !== until) ctx.note(`${name} ${info.status}`);
        last = info.status;
      },
    });
  } catch (error) {
    if (error instanceof PeriscopeTimeoutError) throw new CommandFailure(error.message);
    throw error;
  } finally {
    progress?.stop();
  }
}

/**
 * The end of a wait: the status info (JSON with --json) and exit 0 when it reached what was awaited —
 * READY (or RUNNING), or FINISHED with the experiment Succeeded — else exit 1 with why.
 */
async function report(ctx: Context, info: ExecutionInfo, awaited: 'READY' | 'FINISHED'): Promise<void> {
  // Prepared is prepared, even when someone started it meanwhile; past that, only a success counts.
  const succeeded = (awaited === 'READY' && (info.status === 'READY' || info.status === 'RUNNING')) || (info.status === 'FINISHED' && info.experiment.status === 'Succeeded');
  const reason = succeeded ? undefined : (failureSummary(info) ?? (await lastTrial(ctx, info))?.message ?? undefined);
  if (ctx.json) {
    ctx.printJson(info);
  } else if (info.status !== 'FINISHED') {
    ctx.print(`${info.name} ${ctx.out.status(info.status)}${reason ? `: ${reason}` : ''}`);
  } else {
    const outcome = info.status === 'FINISHED' ? `${ctx.out.status('FINISHED')} (${ctx.out.status(info.experiment.status)})` : ctx.out.status(info.status);
    ctx.print(`${info.name} ${outcome}${reason ? `: ${reason.replace(/^Failed:\s*/i, '')}` : ''}`);
  }
  if (!succeeded) throw new CommandFailure('', EXIT.FAILED);
}

async function lastTrial(ctx: Context, info: ExecutionInfo): Promise<Trial | undefined> {
  return (await ctx.periscope.experiments.trials(info.experiment.experimentId).catch(() => []))?.at(-1);
}
