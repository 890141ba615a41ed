import type { Command } from 'commander';
import { NotFoundError, type Resource } from '@tugboat/resource-model';
import { projectFor, type CommandContext } from '../command-context.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatResourceTable } from '../format-table.js';
import { resolveKind } from '../resolve-kind.js';

interface GetFlags {
  project?: string;
  output: string;
  selector?: string;
}

export function registerGetCommand(program: Command, context: CommandContext): void {
  program
    .command('get')
    .description('show one object, or list the objects of a kind')
    .argument('<kind>', 'kind, plural, singular or short name (e.g. WorkloadInstance, workloadinstances, app)')
    .argument('[name]', 'one object; without it, every object of the kind (in the project, with -p)')
    .option('-p, --project <project>', 'project (required with NAME for project-scoped kinds)')
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .option('-l, --selector <selector>', 'label selector, e.g. tier=prod,team!=ops,canary')
    .addHelpText(
      'after',
      `
The table shows NAME, PROJECT, PHASE, READY (the Ready condition), GEN (the spec
generation; observed/current while a controller catches up) and AGE.

Examples:
  tug get workloadinstances -p team-a
  tug get app web -p team-a -o yaml
  tug get clusterinstances -o json`,
    )
    .action(async (kindName: string, name: string | undefined, flags: GetFlags, command: Command) => {
      const format = parseOutputFormat(flags.output);
      const { client } = await context.connect(command);
      const signal = context.io.signal;
      const definition = resolveKind(await client.kinds({ signal }), kindName);
      const now = (context.io.now ?? Date.now)();
      if (name !== undefined) {
        const project = projectFor(definition, flags.project, 'get one');
        const object = await client.get({ kind: definition.kind, name, ...(project === undefined ? {} : { project }) }, { signal });
        if (object === undefined) {
          throw new NotFoundError(`${definition.kind} "${name}" not found${project === undefined ? '' : ` in project ${project}`}`);
        }
        context.out(format === 'table' ? formatResourceTable([object], now) : formatDocument(object, format));
        return;
      }
      const project = definition.scope === 'Project' ? flags.project : undefined;
      const items: Resource[] = [];
      for await (const object of client.listAll(definition.kind, {
        ...(project === undefined ? {} : { project }),
        ...(flags.selector === undefined ? {} : { labelSelector: flags.selector }),
        ...(signal === undefined ? {} : { signal }),
      })) {
        items.push(object);
      }
      if (format !== 'table') {
        context.out(formatDocument({ items }, format));
      } else if (items.length === 0) {
        context.err(`No ${definition.plural} found${project === undefined ? '' : ` in project ${project}`}.\n`);
      } else {
        context.out(formatResourceTable(items, now));
      }
    });
}
