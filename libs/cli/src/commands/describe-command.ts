import type { Command } from 'commander';
import type { ResourceEvent } from '@tugboat/api-client';
import type { ApiClient } from '@tugboat/api-client';
import { isErrorCode, NotFoundError, PLATFORM_PROJECT, type Condition, type KindDefinition, type Resource, referencedNames } from '@tugboat/resource-model';
import { stringify } from 'yaml';
import { formatApplicationTree, type ApplicationStatusFields } from '@tugboat/applications';
import { connectToObject, type CommandContext } from '../command-context.js';
import { formatAge, formatTable } from '../format-table.js';
import { parseCount } from '../parse-count.js';
import { kindSlashName } from '../kind-slash-name.js';
import { UsageError } from '../usage-error.js';

interface DescribeFlags {
  project?: string;
  events: string;
}

export function registerDescribeCommand(program: Command, context: CommandContext): void {
  program
    .command('describe')
    .description('show one object for people: spec, status, conditions, recent events, what it references and what references it')
    .argument('<kind>', 'kind, plural, singular or short name, or KIND/NAME')
    .argument('[name]', 'the object')
    .option('-p, --project <project>', "project (required for project-scoped kinds; default: the context's)")
    .option('--events <count>', 'how many of the most recent events to show', '10')
    .addHelpText(
      'after',
      `
Secret fields show as <redacted>. "References" are the objects this one names
in its reference fields (and its owners); "Referenced by" are the objects that
name it, which block its delete unless --cascade. A workload instance with
spec.expose also shows its Exposure: the url, the phase and its conditions.

Examples:
  tug describe app web -p team-a
  tug describe clusterinstance dev
  tug describe application/shop -p team-a   (an Application also shows its tree)`,
    )
    .action(async (kindArgument: string, nameArgument: string | undefined, flags: DescribeFlags, command: Command) => {
      const { kind: kindName, name } = kindSlashName(kindArgument, nameArgument);
      if (name === undefined) throw new UsageError('describe shows one object: give KIND NAME or KIND/NAME');
      const eventCount = parseCount(flags.events, '--events');
      const { client, ref, shown, definition, project, kinds } = await connectToObject(context, command, {
        kind: kindName,
        name,
        project: flags.project,
        action: 'describe',
      });
      const signal = context.io.signal;
      const object = await client.get(ref, { signal });
      if (object === undefined) throw new NotFoundError(`${shown} not found${project === undefined ? '' : ` in project ${project}`}`);
      const [events, referrers, exposure] = await Promise.all([
        client.listEvents(ref, { signal }),
        client.referrers(ref, { signal }),
        definition.kind === 'WorkloadInstance' ? exposureOf(client, object, signal) : undefined,
      ]);
      const now = (context.io.now ?? Date.now)();
      const oldestFirst = events.slice().sort((a, b) => Date.parse(a.lastSeen) - Date.parse(b.lastSeen));
      context.out(
        formatDescription({
          object,
          definition,
          kinds,
          events: oldestFirst.slice(Math.max(0, oldestFirst.length - eventCount)),
          totalEvents: events.length,
          referrers,
          ...(exposure ? { exposure } : {}),
          now,
        }),
      );
    });
}

/** The Exposure the workload-controller writes for an app with `spec.expose` (same project and name); none when it may not be read. */
async function exposureOf(client: ApiClient, app: Resource, signal: AbortSignal | undefined): Promise<Resource | undefined> {
  try {
    return await client.get({ kind: 'Exposure', project: app.metadata.project, name: app.metadata.name }, { signal });
  } catch (error) {
    if (isErrorCode(error, 'Forbidden')) return undefined;
    throw error;
  }
}

export interface DescriptionInput {
  object: Resource;
  definition: KindDefinition;
  kinds: readonly KindDefinition[];
  /** The events to show, oldest first. */
  events: readonly ResourceEvent[];
  totalEvents: number;
  referrers: ReadonlyArray<{ kind: string; project: string; name: string; path: string }>;
  /** A WorkloadInstance's Exposure, shown in a section of its own. */
  exposure?: Resource;
  now: number;
}

export function formatDescription(input: DescriptionInput): string {
  const { object, definition, now } = input;
  const { metadata, status } = object;
  const when = (iso: string | null | undefined) => (iso ? `${iso} (${formatAge(now - Date.parse(iso))} ago)` : '-');
  const field = (label: string, value: string) => `${`${label}:`.padEnd(20)}${value}\n`;
  const lines: string[] = [];
  lines.push(field('Name', metadata.name));
  lines.push(field('Kind', `${object.kind} (${definition.scope === 'Platform' ? 'platform-wide' : 'per project'}, owned by ${definition.controller})`));
  if (definition.scope === 'Project') lines.push(field('Project', metadata.project));
  lines.push(field('Labels', labelsText(metadata.labels)));
  lines.push(field('UID', metadata.uid));
  lines.push(field('Generation', `${metadata.generation}${status?.observedGeneration === undefined ? ' (not yet observed)' : `, observed ${status.observedGeneration}`}`));
  lines.push(field('Resource version', metadata.resourceVersion));
  lines.push(field('Created', when(metadata.createdAt)));
  lines.push(field('Updated', when(metadata.updatedAt)));
  lines.push(field('Suspended', metadata.suspended ? 'yes (no reconciles until `tug resume`)' : 'no'));
  lines.push(field('Finalizers', metadata.finalizers.length > 0 ? metadata.finalizers.join(', ') : '-'));
  if (metadata.deletionRequestedAt) lines.push(field('Deletion requested', when(metadata.deletionRequestedAt)));

  lines.push('Spec:\n');
  lines.push(indentYaml(object.spec));

  lines.push('Status:\n');
  lines.push(`  Phase:              ${metadata.deletionRequestedAt ? 'Deleting' : (status?.phase ?? 'Pending')}\n`);
  if (status?.definitionGeneration !== undefined) lines.push(`  Definition gen:     ${status.definitionGeneration}\n`);
  const conditions = status?.conditions ?? [];
  if (conditions.length === 0) {
    lines.push('  Conditions:         none yet\n');
  } else {
    lines.push('  Conditions:\n');
    lines.push(conditionTable(conditions, now));
  }
  const objects = objectRows(status?.['objects']);
  if (objects.length > 0) {
    // What a controller made in the real world (a workload's Kubernetes objects), one row each.
    lines.push('  Objects:\n');
    lines.push(
      indent(
        formatTable(
          ['KIND', 'NAME', 'READY', 'REASON', 'MESSAGE'],
          objects.map((row) => [row.kind, row.namespace ? `${row.namespace}/${row.name}` : row.name, row.ready ? 'yes' : 'no', row.reason ?? '-', row.message ?? '']),
        ),
        '    ',
      ),
    );
  }
  if (status?.outputs !== undefined && Object.keys(status.outputs).length > 0) {
    lines.push('  Outputs:\n');
    lines.push(indentYaml(status.outputs, '    '));
  }

  if (input.exposure !== undefined) lines.push(exposureSection(input.exposure, now));
  // An Application's objects, per cluster and component, with why each is not Ready yet.
  if (object.kind === 'Application') lines.push(`Tree:\n${indent(formatApplicationTree(metadata.name, (status ?? {}) as typeof status & ApplicationStatusFields).join('\n') + '\n', '  ')}`);

  const references = referencesOf(object, definition, input.kinds);
  lines.push(references.length === 0 ? 'References:         none\n' : 'References:\n');
  for (const reference of references) lines.push(`  ${reference.target}   (${reference.via})\n`);
  lines.push(input.referrers.length === 0 ? 'Referenced by:      none\n' : 'Referenced by:\n');
  for (const referrer of input.referrers) {
    lines.push(`  ${referrer.kind}/${referrer.project ? `${referrer.project}/` : ''}${referrer.name}   (${referrer.path})\n`);
  }

  if (input.totalEvents === 0) {
    lines.push('Events:             none\n');
  } else {
    const shownCount = input.events.length;
    lines.push(`Events:${shownCount < input.totalEvents ? ` (the ${shownCount} most recent of ${input.totalEvents})` : ''}\n`);
    lines.push(
      indent(
        formatTable(
          ['LAST SEEN', 'TYPE', 'REASON', 'COUNT', 'FROM', 'MESSAGE'],
          input.events.map((event) => [formatAge(now - Date.parse(event.lastSeen)), event.type, event.reason, String(event.count), event.source ?? '-', event.message]),
        ),
        '  ',
      ),
    );
  }
  return lines.join('');
}

function conditionTable(conditions: readonly Condition[], now: number): string {
  return indent(
    formatTable(
      ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
      conditions.map((condition) => [
        condition.type,
        condition.status,
        condition.reason ?? '-',
        condition.lastTransitionTime ? formatAge(now - Date.parse(condition.lastTransitionTime)) : '-',
        condition.message ?? '',
      ]),
    ),
    '    ',
  );
}

/** Where an app is reached, and if it is not yet, why: its Exposure's url, phase, Ready condition and the others. */
function exposureSection(exposure: Resource, now: number): string {
  const { status, metadata } = exposure;
  const url = status?.outputs?.['url'];
  const ready = status?.conditions?.find((condition) => condition.type === 'Ready');
  const readyText = ready === undefined ? '-' : `${ready.status}${ready.reason ? ` (${ready.reason})` : ''}${ready.message ? `: ${ready.message}` : ''}`;
  const conditions = status?.conditions ?? [];
  return [
    `Exposure:           Exposure/${metadata.project}/${metadata.name}\n`,
    `  URL:              ${typeof url === 'string' && url !== '' ? url : '- (not yet)'}\n`,
    `  Phase:            ${metadata.deletionRequestedAt ? 'Deleting' : (status?.phase ?? 'Pending')}\n`,
    `  Ready:            ${readyText}\n`,
    conditions.length === 0 ? '  Conditions:       none yet\n' : `  Conditions:\n${conditionTable(conditions, now)}`,
  ].join('');
}

interface ObjectRow {
  kind: string;
  name: string;
  namespace?: string;
  ready: boolean;
  reason?: string;
  message?: string;
}

/** `status.objects` rows as a controller wrote them; entries without a kind and a name are left out. */
function objectRows(value: unknown): ObjectRow[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry): ObjectRow[] => {
    if (typeof entry !== 'object' || entry === null) return [];
    const row = entry as Record<string, unknown>;
    if (typeof row['kind'] !== 'string' || typeof row['name'] !== 'string') return [];
    const text = (field: string) => (typeof row[field] === 'string' ? { [field]: row[field] as string } : {});
    return [{ kind: row['kind'], name: row['name'], ready: row['ready'] === true, ...text('namespace'), ...text('reason'), ...text('message') }];
  });
}

/** The objects this one names: each reference field set in its spec, and its owners. */
export function referencesOf(object: Resource, definition: KindDefinition, kinds: readonly KindDefinition[]): Array<{ target: string; via: string }> {
  const found: Array<{ target: string; via: string }> = [];
  for (const reference of definition.references) {
    const targetScope = kinds.find((kind) => kind.kind === reference.kind)?.scope;
    const project = targetScope === 'Platform' ? PLATFORM_PROJECT : object.metadata.project;
    for (const { path, name } of referencedNames(object.spec, reference.path)) {
      if (name !== undefined) found.push({ target: `${reference.kind}/${project ? `${project}/` : ''}${name}`, via: `spec.${path}` });
    }
  }
  for (const owner of object.metadata.ownerReferences ?? []) found.push({ target: `${owner.kind}/${owner.name}`, via: 'owner' });
  return found;
}

function labelsText(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '-' : entries.map(([key, value]) => `${key}=${value}`).join(', ');
}

function indentYaml(value: unknown, prefix = '  '): string {
  if (value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0)) return `${prefix}{}\n`;
  return indent(stringify(value, { lineWidth: 0 }), prefix);
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .filter((line, index, all) => line !== '' || index < all.length - 1)
    .map((line) => `${prefix}${line}`)
    .join('\n')
    .concat('\n');
}
