/** `periscope flag get|set|incr|list`: an experiment's flags, the way executors and people coordinate a run. */
import type { Flag } from '@periscope/sdk';
import { Command, Option } from 'commander';
import { Context } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { renderFields, renderTable } from '../output/table.js';
import { integer, nonNegativeInteger, seconds } from './parsers.js';

const ID = ['<experiment-id>', 'experiment id, e.g. experiment-1647574374688-0001 (see `execution status`)'] as const;
const FLAG = ['<flag>', "flag name: letters, digits, '_', '.', '-'"] as const;

export function flagCommand(parent: Command): Command {
  const flag = parent
    .command('flag')
    .description("Read and write an experiment's flags (a text and an integer value each, with a version).")
    .addHelpText('after', '\nExample:\n  periscope flag set experiment-1647574374688-0001 stage --text go --int 0\n  periscope flag get experiment-1647574374688-0001 stage --wait-for 1 --timeout 60');

  flag
    .command('get')
    .description('Print a flag (never set: no values, version 0); with --wait-for V, once its version is greater than V.')
    .argument(...ID)
    .argument(...FLAG)
    .addOption(new Option('--wait-for <version>', 'wait until the version is greater than this (the version you last saw)').argParser(nonNegativeInteger))
    .addOption(new Option('--timeout <seconds>', 'with --wait-for: wait at most this long, 0-60 (default 30); then print it unchanged').argParser(seconds))
    .action(async (id: string, name: string, flags: { waitFor?: number; timeout?: number }, command: Command) => {
      const ctx = Context.of(command);
      if (flags.timeout !== undefined && flags.waitFor === undefined) throw new UsageError('flag get: --timeout applies to --wait-for; give both');
      if (flags.timeout !== undefined && flags.timeout > 60) throw new UsageError(`flag get: --timeout ${flags.timeout} is more than the server's 60 seconds`);
      const found = await ctx.periscope.flags.get(id, name, {
        ...(flags.waitFor !== undefined && { waitFor: flags.waitFor }),
        ...(flags.timeout !== undefined && { timeout: flags.timeout }),
      });
      if (ctx.json) return ctx.printJson(found);
      ctx.print(
        renderFields([
          ['Flag', found.name],
          ['Text', found.textValue ?? '-'],
          ['Int', found.intValue !== null ? String(found.intValue) : '-'],
          ['Version', String(found.version)],
        ]),
      );
    });

  flag
    .command('set')
    .description('Set a flag: replaces both values at once (one left out becomes empty).')
    .argument(...ID)
    .argument(...FLAG)
    .option('--text <text>', 'the text value')
    .addOption(new Option('--int <n>', 'the integer value').argParser(integer))
    .action(async (id: string, name: string, flags: { text?: string; int?: number }, command: Command) => {
      const ctx = Context.of(command);
      if (flags.text === undefined && flags.int === undefined) throw new UsageError('flag set: give --text, --int or both (a set replaces both values)');
      const set = await ctx.periscope.flags.set(id, name, { textValue: flags.text ?? null, intValue: flags.int ?? null });
      if (ctx.json) return ctx.printJson(set);
      ctx.print(`Set ${describe(set)}`);
    });

  flag
    .command('incr')
    .alias('increment')
    .description('Add to the integer value atomically (a flag never set starts from 0); prints the new value.')
    .argument(...ID)
    .argument(...FLAG)
    .addOption(new Option('--by <n>', 'how much to add; negative subtracts').argParser(integer).default(1))
    .action(async (id: string, name: string, flags: { by: number }, command: Command) => {
      const ctx = Context.of(command);
      const incremented = await ctx.periscope.flags.increment(id, name, flags.by);
      if (ctx.json) return ctx.printJson(incremented);
      ctx.print(`${incremented.name} = ${incremented.intValue} (version ${incremented.version})`);
    });

  flag
    .command('list')
    .alias('ls')
    .description("List an experiment's flags.")
    .argument(...ID)
    .action(async (id: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const flags = await ctx.periscope.flags.list(id);
      if (ctx.json) return ctx.printJson(flags);
      if (flags.length === 0) return ctx.print('No flags.');
      ctx.print(renderTable(['FLAG', 'TEXT', 'INT', 'VERSION'], flags.map((f) => [f.name, f.textValue ?? '-', f.intValue !== null ? String(f.intValue) : '-', String(f.version)])));
    });

  return flag;
}

/** `stage: text "go", int 2 (version 3)` */
function describe(flag: Flag): string {
  const values = [flag.textValue !== null ? `text ${JSON.stringify(flag.textValue)}` : 'no text', flag.intValue !== null ? `int ${flag.intValue}` : 'no int'];
  return `${flag.name}: ${values.join(', ')} (version ${flag.version})`;
}
