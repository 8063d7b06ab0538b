/** `periscope model …`: the model registry (models, their versions from checkpoints, labels, archive). */
import type { Model, ModelVersion } from '@periscope/sdk';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Context } from '../context.js';
import { CommandFailure, EXIT_CODES_HELP } from '../exit-codes.js';
import { renderFields, renderTable } from '../output/table.js';
import { relativeTime } from '../output/time.js';
import { translated } from './determined-errors.js';

const SORT_KEYS = ['name', 'description', 'creationTime', 'lastUpdatedTime', 'workspace'];

export function modelCommand(parent: Command): Command {
  const model = parent
    .command('model')
    .description('The model registry: models, their versions (registered checkpoints), labels and metadata.')
    .addHelpText('after', EXIT_CODES_HELP);

  model
    .command('create')
    .description('Add a model to the registry (its name must be unique).')
    .argument('<name>', 'model name (no slashes)')
    .option('-d, --description <text>', 'what the model is')
    .option('-l, --label <label>', 'a label (repeat for more)', collect, [])
    .option('-w, --workspace <name>', 'workspace (default: the server’s, Uncategorized)')
    .action(async (name: string, flags: { description?: string; label: string[]; workspace?: string }, command: Command) => {
      const ctx = Context.of(command);
      const created = await ctx.periscope.createModel(name, {
        ...(flags.description !== undefined && { description: flags.description }),
        ...(flags.label.length > 0 && { labels: flags.label }),
        ...(flags.workspace !== undefined && { workspaceName: flags.workspace }),
      });
      if (ctx.json) return ctx.printJson(created);
      ctx.print(`Created model ${created.name} (id ${created.id})`);
    });

  model
    .command('list')
    .alias('ls')
    .description('The registry’s models, sorted and filtered.')
    .addOption(new Option('--sort-by <field>', 'sort by this field').choices(SORT_KEYS).default('name'))
    .addOption(new Option('--order-by <order>', 'ascending or descending').choices(['asc', 'desc']).default('asc'))
    .option('--name <text>', 'only names containing this (any case)')
    .option('--description <text>', 'only descriptions containing this (any case)')
    .option('--label <label>', 'only models with this label')
    .option('--workspace <name>', 'only models in this workspace (repeat for more)', collect, [])
    .option('--archived', 'only archived models')
    .option('--no-archived', 'only models that are not archived')
    .action(async (flags: ListFlags, command: Command) => {
      const ctx = Context.of(command);
      const models = await ctx.periscope.getModels({
        sortBy: flags.sortBy as never,
        orderBy: flags.orderBy,
        ...(flags.name !== undefined && { name: flags.name }),
        ...(flags.description !== undefined && { description: flags.description }),
        ...(flags.label !== undefined && { label: flags.label }),
        ...(flags.workspace.length > 0 && { workspaceNames: flags.workspace }),
        ...(flags.archived !== undefined && { archived: flags.archived }),
      });
      if (ctx.json) return ctx.printJson(models);
      if (models.length === 0) return ctx.print('No models.');
      ctx.print(modelTable(models));
    });

  model
    .command('describe')
    .description('Show a model (by name or id) and its versions.')
    .argument('<model>', 'model name or id')
    .action(async (nameOrId: string, _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.getModel(nameOrId);
      const versions = await found.getVersions();
      if (ctx.json) return ctx.printJson({ ...found.toJSON(), versions });
      ctx.print(modelDetails(found));
      ctx.print('');
      ctx.print(versions.length === 0 ? 'No versions.' : versionTable(versions));
    });

  model
    .command('register-version')
    .description('Register a checkpoint as the model’s next version.')
    .argument('<model>', 'model name or id')
    .argument('<checkpoint-uuid>', 'checkpoint uuid (see: periscope checkpoint list TRIAL_ID)')
    .option('--name <name>', 'a name for the version')
    .option('--comment <text>', 'a comment')
    .option('--notes <text>', 'notes')
    .action(async (nameOrId: string, uuid: string, flags: { name?: string; comment?: string; notes?: string }, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.getModel(nameOrId);
      const version = await found.registerVersion(uuid, flags);
      if (ctx.json) return ctx.printJson(version);
      ctx.print(`Registered checkpoint ${uuid} as version ${version.version} of ${found.name}`);
    });

  model
    .command('versions')
    .description('A model’s versions, newest first.')
    .argument('<model>', 'model name or id')
    .addOption(new Option('--order-by <order>', 'by version number').choices(['asc', 'desc']).default('desc'))
    .action(async (nameOrId: string, flags: { orderBy: 'asc' | 'desc' }, command: Command) => {
      const ctx = Context.of(command);
      const versions = await (await ctx.periscope.getModel(nameOrId)).getVersions(flags.orderBy);
      if (ctx.json) return ctx.printJson(versions);
      ctx.print(versions.length === 0 ? `Model ${nameOrId} has no versions.` : versionTable(versions));
    });

  model
    .command('download')
    .description('Download the checkpoint of a version (default: the latest) and its metadata.json.')
    .argument('<model>', 'model name or id')
    .argument('[version]', 'version number (default: latest)', positiveInteger)
    .option('-o, --output <dir>', 'directory to write into (default: checkpoints/<uuid>)')
    .action(async (nameOrId: string, number: number | undefined, flags: { output?: string }, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.getModel(nameOrId);
      const version = await found.getVersion(number ?? 'latest');
      if (!version) throw new CommandFailure(`Model ${found.name} has no versions.`);
      const dir = await translated(() => version.checkpoint.download(flags.output));
      if (ctx.json) return ctx.printJson({ model: found.name, version: version.version, uuid: version.checkpoint.uuid, dir });
      ctx.print(`Downloaded version ${version.version} of ${found.name} (checkpoint ${version.checkpoint.uuid}) to ${dir}`);
    });

  model
    .command('label')
    .description('Set a model’s labels (replacing the ones it has).')
    .argument('<model>', 'model name or id')
    .argument('<labels...>', 'the labels')
    .action(async (nameOrId: string, labels: string[], _flags: object, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.getModel(nameOrId);
      await found.setLabels(labels);
      if (ctx.json) return ctx.printJson(found);
      ctx.print(`Labels of ${found.name}: ${found.labels.join(', ')}`);
    });

  for (const [verb, archived] of [['archive', true], ['unarchive', false]] as const) {
    model
      .command(verb)
      .description(archived ? 'Archive a model (hidden from list --no-archived).' : 'Unarchive a model.')
      .argument('<model>', 'model name or id')
      .action(async (nameOrId: string, _flags: object, command: Command) => {
        const ctx = Context.of(command);
        const found = await ctx.periscope.getModel(nameOrId);
        await (archived ? found.archive() : found.unarchive());
        if (ctx.json) return ctx.printJson(found);
        ctx.print(`${archived ? 'Archived' : 'Unarchived'} model ${found.name}`);
      });
  }

  model
    .command('delete')
    .alias('rm')
    .description('Delete a model; refused while it has versions, unless --force.')
    .argument('<model>', 'model name or id')
    .option('--force', 'delete it with its versions (the checkpoints stay)')
    .action(async (nameOrId: string, flags: { force?: boolean }, command: Command) => {
      const ctx = Context.of(command);
      const found = await ctx.periscope.getModel(nameOrId);
      await found.delete({ force: flags.force === true });
      if (ctx.json) return ctx.printJson(found);
      ctx.print(`Deleted model ${found.name}`);
    });
  return model;
}

interface ListFlags {
  sortBy: string;
  orderBy: 'asc' | 'desc';
  name?: string;
  description?: string;
  label?: string;
  workspace: string[];
  archived?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInteger(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError('expected a version number (1 or more).');
  return Number(value);
}

function modelTable(models: readonly Model[]): string {
  return renderTable(
    ['ID', 'NAME', 'VERSIONS', 'LABELS', 'WORKSPACE', 'ARCHIVED', 'UPDATED', 'DESCRIPTION'],
    models.map((m) => [String(m.id), m.name, String(m.numVersions), m.labels.join(',') || '-', m.workspace, m.archived ? 'yes' : 'no', relativeTime(m.lastUpdatedTime), m.description || '-']),
  );
}

function modelDetails(m: Model): string {
  return renderFields([
    ['ID', String(m.id)],
    ['Name', m.name],
    ['Description', m.description || '-'],
    ['Workspace', m.workspace],
    ['Owner', m.owner ?? '-'],
    ['Labels', m.labels.join(', ') || '-'],
    ['Archived', m.archived ? 'yes' : 'no'],
    ['Metadata', JSON.stringify(m.metadata)],
    ['Versions', String(m.numVersions)],
    ['Created', `${m.creationTime} (${relativeTime(m.creationTime)})`],
    ['Updated', `${m.lastUpdatedTime} (${relativeTime(m.lastUpdatedTime)})`],
  ]);
}

function versionTable(versions: readonly ModelVersion[]): string {
  return renderTable(
    ['VERSION', 'NAME', 'CHECKPOINT', 'TRIAL', 'STEPS', 'COMMENT', 'CREATED'],
    versions.map((v) => [String(v.version), v.name ?? '-', v.checkpoint.uuid, String(v.checkpoint.trialId), String(v.checkpoint.stepsCompleted), v.comment ?? '-', relativeTime(v.creationTime)]),
  );
}
