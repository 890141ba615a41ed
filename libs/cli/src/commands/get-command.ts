import type { Command } from 'commander';
import type { ApiClient } from '@tugboat/api-client';
import { isErrorCode, matchesLabelSelector, NotFoundError, type InputError, parseLabelSelector, type KindDefinition, type LabelRequirement, type Resource } from '@tugboat/resource-model';
import { listProject, projectFor, type CommandContext } from '../command-context.js';
import { followResources, type ResourceChange } from '../follow-resources.js';
import { formatDocument, parseOutputFormat, type OutputFormat } from '../format-output.js';
import { createRowPrinter } from '../format-table.js';
import { exposureUrls, formatKindTable, kindTable, type KindTable } from '../kind-table.js';
import { resolveKind } from '../resolve-kind.js';
import { UsageError } from '../usage-error.js';
import { kindSlashName } from '../kind-slash-name.js';
import { stringify } from 'yaml';
import { formatApplicationTree, type ApplicationStatusFields } from '@tugboat/applications';

interface GetFlags {
  project?: string;
  output: string;
  selector?: string;
  watch?: boolean;
  tree?: boolean;
}

export function registerGetCommand(program: Command, context: CommandContext): void {
  program
    .command('get')
    .description('show one object, or list the objects of a kind; -w follows their changes')
    .argument('<kind>', 'kind, plural, singular or short name (e.g. WorkloadInstance, workloadinstances, app), or KIND/NAME')
    .argument('[name]', 'one object; without it, every object of the kind (in the project, with -p)')
    .option('-p, --project <project>', "project (required with NAME for project-scoped kinds; default: the context's)")
    .option('-o, --output <format>', 'table, wide, yaml or json', 'table')
    .option('-l, --selector <selector>', 'label selector, e.g. tier=prod,team!=ops,canary,!legacy')
    .option('-w, --watch', 'after the list, print each change as it happens, until Ctrl-C')
    .option('--tree', 'an Application: its objects per cluster and component, and why each is not Ready')
    .addHelpText(
      'after',
      `
The table shows NAME, PROJECT, PHASE, READY (the Ready condition), GEN (the spec
generation; observed/current while a controller catches up) and AGE; wide adds
REASON, SUSPENDED, FINALIZERS and LABELS. Workload instances also show the URL
their Exposure reports (not with -w); exposures show NAME, PROJECT, URL, PHASE,
READY, REASON and AGE. With -w a table prints a row whenever
an object changes (PHASE "Deleted" once it is gone); yaml and json print one
{type, object} document per change (json: one per line).

Examples:
  tug get workloadinstances -p team-a
  tug get app web -p team-a -o yaml
  tug get clusterinstances -o wide -l env=dev
  tug get apps -p team-a -w
  tug get application/shop -p team-a --tree`,
    )
    .action(async (kindArgument: string, nameArgument: string | undefined, flags: GetFlags, command: Command) => {
      const { kind: kindName, name } = kindSlashName(kindArgument, nameArgument);
      if (flags.tree && name === undefined) throw new UsageError('--tree shows one Application: give its name');
      const format = parseOutputFormat(flags.output);
      const requirements = flags.selector === undefined ? [] : parseSelectorFlag(flags.selector);
      const { client, settings } = await context.connect(command);
      const signal = context.io.signal;
      const definition = resolveKind(await client.kinds({ signal }), kindName);
      const now = context.io.now ?? Date.now;
      const project = name === undefined ? listProject(definition, flags.project, settings) : projectFor(definition, flags.project ?? settings.project, 'get one');

      const wide = format === 'wide';
      if (flags.watch) {
        const printer = createWatchPrinter(format, kindTable(definition.kind, { wide }), now, (text) => context.out(text));
        await followResources({
          client,
          kind: definition.kind,
          ...(project === undefined ? {} : { project }),
          ...(flags.selector === undefined ? {} : { labelSelector: flags.selector }),
          matches: (object) => (name === undefined || object.metadata.name === name) && matchesLabelSelector(requirements, object.metadata.labels),
          onSnapshot: (items) => printer.snapshot(items),
          onChange: (change) => printer.change(change),
          onResync: (reason) => context.err(`(${reason})\n`),
          ...(context.io.pollIntervalMs === undefined ? {} : { retryDelayMs: context.io.pollIntervalMs }),
          signal: signal ?? new AbortController().signal,
        });
        return;
      }

      if (name !== undefined) {
        const object = await client.get({ kind: definition.kind, name, ...(project === undefined ? {} : { project }) }, { signal });
        if (object === undefined) throw notFound(definition, name, project);
        if (format === 'yaml' || format === 'json') {
          context.out(formatDocument(object, format));
          return;
        }
        if (flags.tree) {
          if (definition.kind !== 'Application') throw new UsageError(`--tree shows an Application's objects; ${definition.kind} has none`);
          context.out(`${formatApplicationTree(object.metadata.name, object.status as typeof object.status & ApplicationStatusFields).join('\n')}\n`);
          return;
        }
        const urls = definition.kind === 'WorkloadInstance' ? await workloadUrls(client, { name, project: object.metadata.project }, signal) : undefined;
        context.out(formatKindTable(kindTable(definition.kind, { wide, ...(urls ? { urls } : {}) }), [object], now()));
        return;
      }
      const items: Resource[] = [];
      for await (const object of client.listAll(definition.kind, {
        ...(project === undefined ? {} : { project }),
        ...(flags.selector === undefined ? {} : { labelSelector: flags.selector }),
        ...(signal === undefined ? {} : { signal }),
      })) {
        items.push(object);
      }
      if (format === 'yaml' || format === 'json') {
        context.out(formatDocument({ items }, format));
      } else if (items.length === 0) {
        context.err(`No ${definition.plural} found${project === undefined ? '' : ` in project ${project}`}.\n`);
      } else {
        const urls = definition.kind === 'WorkloadInstance' ? await workloadUrls(client, { project }, signal) : undefined;
        context.out(formatKindTable(kindTable(definition.kind, { wide, ...(urls ? { urls } : {}) }), items, now()));
      }
    });
}

/**
 * The urls of the apps' Exposures (same project and name): one get for one app, one list for a
 * list of apps (every Exposure of the project, or of all, rather than a request per row). A
 * caller who may not read Exposures gets the table without urls rather than an error.
 */
async function workloadUrls(
  client: ApiClient,
  which: { project: string | undefined; name?: string },
  signal: AbortSignal | undefined,
): Promise<Map<string, string>> {
  try {
    if (which.name !== undefined && which.project !== undefined) {
      const exposure = await client.get({ kind: 'Exposure', project: which.project, name: which.name }, { signal });
      return exposureUrls(exposure === undefined ? [] : [exposure]);
    }
    const exposures: Resource[] = [];
    for await (const exposure of client.listAll('Exposure', { ...(which.project === undefined ? {} : { project: which.project }), ...(signal === undefined ? {} : { signal }) })) {
      exposures.push(exposure);
    }
    return exposureUrls(exposures);
  } catch (error) {
    if (isErrorCode(error, 'Forbidden')) return new Map();
    throw error;
  }
}

function notFound(definition: KindDefinition, name: string, project: string | undefined): NotFoundError {
  return new NotFoundError(`${definition.kind} "${name}" not found${project === undefined ? '' : ` in project ${project}`}`);
}

/**
 * What `get -w` prints: a table row per visible change (a status write that changes no column
 * prints nothing), or one `{ type, object }` document per change.
 */
function createWatchPrinter(format: OutputFormat, table: KindTable, now: () => number, write: (text: string) => void) {
  const rows = createRowPrinter(table.headers);
  const lastRow = new Map<string, string>();
  let headerPrinted = false;
  const rowOf = (object: Resource, deleted: boolean) => {
    const cells = table.row(object, now());
    if (deleted) cells[table.phaseColumn] = 'Deleted';
    return cells;
  };
  const keyOf = (object: Resource) => `${object.kind}/${object.metadata.project}/${object.metadata.name}`;
  const printRow = (object: Resource, deleted: boolean) => {
    const cells = rowOf(object, deleted);
    // AGE moves on by itself; only the other columns make a change worth a line.
    const signature = cells.filter((_, column) => column !== table.ageColumn).join('\u0000');
    if (lastRow.get(keyOf(object)) === signature) return;
    lastRow.set(keyOf(object), signature);
    if (!headerPrinted) {
      write(rows.header());
      headerPrinted = true;
    }
    write(rows.row(cells));
  };
  const document = (type: string, object: Resource) =>
    format === 'json' ? JSON.stringify({ type, object }) + '\n' : `---\n${stringify({ type, object }, { lineWidth: 0 })}`;

  return {
    snapshot(items: readonly Resource[]) {
      if (format === 'yaml' || format === 'json') {
        for (const object of items) write(document('ADDED', object));
        return;
      }
      rows.fit(items.map((object) => rowOf(object, false)));
      for (const object of items) printRow(object, false);
    },
    change(change: ResourceChange) {
      if (format === 'yaml' || format === 'json') {
        write(document(change.type, change.object));
        return;
      }
      printRow(change.object, change.type === 'DELETED');
    },
  };
}

/** `-l` is checked before any request (exit 2); `get -w` uses it again on watched changes, which the watch does not filter. */
function parseSelectorFlag(text: string): LabelRequirement[] {
  try {
    return parseLabelSelector(text, { field: '-l/--selector' });
  } catch (error) {
    const { message, details } = error as InputError;
    throw new UsageError(message, details);
  }
}
