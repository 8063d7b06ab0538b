/** `periscope node list`: the nodes executors can run on, with capacity, labels and what is allocated now. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { Context } from '../context.js';
import { nodeTable } from '../output/executions.js';
import { keyValue } from './parsers.js';

export function nodeCommand(parent: Command): Command {
  const node = parent.command('node').description('The nodes executors can run on.');
  node
    .command('list')
    .alias('ls')
    .description('List nodes: state, architecture, CPUs, memory and GPUs (allocated/total), trials, labels.')
    .addOption(new Option('--label <key=value>', 'only nodes with this label value, e.g. gpu=true').argParser(keyValue))
    .action(async (flags: { label?: string }, command: Command) => {
      const ctx = Context.of(command);
      const nodes = await ctx.periscope.nodes.list(flags.label !== undefined ? { label: flags.label } : {});
      if (ctx.json) return ctx.printJson(nodes);
      if (nodes.length === 0) return ctx.print(flags.label ? `No nodes with label ${flags.label}.` : 'No nodes.');
      ctx.print(nodeTable(nodes, ctx.out));
    });
  return node;
}
