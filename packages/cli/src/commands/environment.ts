/** `periscope environment …`: stored environments (image and kernel spec), keyed by name. */
import type { CreateEnvironmentInput, Environment, EnvironmentSpec } from '@periscope/sdk';
import type { Command } from 'commander';
import { Context } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { renderFields, renderTable } from '../output/table.js';
import { readSpecFile } from '../spec-file.js';

const SPEC_HELP = 'environment spec, JSON or YAML: name, dockerImage, kernelSpec, description; - for stdin';

export function environmentCommand(parent: Command): Command {
  const environment = parent.command('environment').alias('env').description('Manage stored environments (image and kernel spec) by name.');

  environment
    .command('create')
    .description('Create an environment from a spec file.')
    .requiredOption('-f, --file <path>', SPEC_HELP)
    .action(async (flags: { file: string }, command: Command) => {
      const ctx = Context.of(command);
      const spec = await readSpecFile(flags.file, 'an environment spec');
      if (typeof spec.name !== 'string' || spec.name === '') throw new UsageError(`${flags.file}: "name" is required (a string naming the environment)`);
      const created = await ctx.periscope.environments.create(spec as CreateEnvironmentInput);
      if (ctx.json) return ctx.printJson(created);
      ctx.print(`Created environment ${created.environmentSpec.name} (${created.environmentId})`);
    });

  environment
    .command('list')
    .alias('ls')
    .description('List environments.')
    .action(async (_flags: object, command: Command) => {
      const ctx = Context.of(command);
      const environments = await ctx.periscope.environments.list();
      if (ctx.json) return ctx.printJson(environments);
      if (environments.length === 0) return ctx.print('No environments.');
      ctx.print(
        renderTable(
          ['NAME', 'IMAGE', 'KERNEL', 'DESCRIPTION'],
          environments.map((e) => [e.environmentSpec.name ?? '-', image(e), e.environmentSpec.kernelSpec?.name ?? '-', e.environmentSpec.description ?? '']),
        ),
      );
    });

  environment
    .command('get')
    .description('Show an environment.')
    .argument('<name>', 'environment name')
    .action(async (name: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.environments.get(name);
      if (ctx.json) return ctx.printJson(found);
      const { kernelSpec, description } = found.environmentSpec;
      const fields: Array<[string, string]> = [
        ['Name', found.environmentSpec.name ?? '-'],
        ['Id', found.environmentId],
        ['Image', image(found)],
      ];
      if (description) fields.push(['Description', description]);
      if (kernelSpec) {
        fields.push(['Kernel', kernelSpec.name ?? '-']);
        if (kernelSpec.channels?.length) fields.push(['Channels', kernelSpec.channels.join(', ')]);
        if (kernelSpec.condaDependencies?.length) fields.push(['Conda', kernelSpec.condaDependencies.join(', ')]);
        if (kernelSpec.pipDependencies?.length) fields.push(['Pip', kernelSpec.pipDependencies.join(', ')]);
      }
      ctx.print(renderFields(fields));
    });

  environment
    .command('update')
    .description("Replace an environment's spec (renaming is not supported).")
    .argument('<name>', 'environment name')
    .requiredOption('-f, --file <path>', SPEC_HELP)
    .action(async (name: string, flags: { file: string }, command: Command) => {
      const ctx = Context.of(command);
      const spec = (await readSpecFile(flags.file, 'an environment spec')) as EnvironmentSpec;
      const updated = await ctx.periscope.environments.update(name, spec);
      if (ctx.json) return ctx.printJson(updated);
      ctx.print(`Updated environment ${updated.environmentSpec.name}`);
    });

  environment
    .command('delete')
    .alias('rm')
    .description('Delete an environment.')
    .argument('<name>', 'environment name')
    .action(async (name: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const deleted = await ctx.periscope.environments.delete(name);
      if (ctx.json) return ctx.printJson(deleted);
      ctx.print(`Deleted environment ${deleted.environmentSpec.name}`);
    });

  return environment;
}

function image(environment: Environment): string {
  return environment.environmentSpec.dockerImage ?? environment.environmentSpec.image ?? '-';
}
