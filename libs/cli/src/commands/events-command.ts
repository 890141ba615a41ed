import type { Command } from 'commander';
import type { ApiClient, ObjectRef, ResourceEvent } from '@tugboat/api-client';
import type { KindDefinition } from '@tugboat/resource-model';
import { connectToObject, listProject, type CommandContext } from '../command-context.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatAge, formatTable } from '../format-table.js';
import { resolveKind } from '../resolve-kind.js';

interface EventsFlags {
  project?: string;
  output: string;
  warnings?: boolean;
}

/** An event with the object it is about. */
export interface ObjectEvent extends ResourceEvent {
  object: { kind: string; project: string; name: string };
}

/** How many objects' events are read at once when listing the events of many objects. */
const CONCURRENCY = 8;

export function registerEventsCommand(program: Command, context: CommandContext): void {
  program
    .command('events')
    .description("show events: one object's, every object's of a kind, or (without arguments) every object's")
    .argument('[kind]', 'kind, plural, singular or short name')
    .argument('[name]', 'one object')
    .option('-p, --project <project>', "project (required with NAME for project-scoped kinds; filters lists; default: the context's)")
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .option('--warnings', 'only Warning events')
    .addHelpText(
      'after',
      `
Events are what controllers (and operators) record about an object: Normal or
Warning, a reason, a message, how often and when it was last seen. They are
printed oldest first, so the newest are at the bottom. Without NAME the events
of every object of the kind (or of every kind) are read, object by object.

Examples:
  tug events app web -p team-a
  tug events clusterinstances --warnings
  tug events -o json`,
    )
    .action(async (kindName: string | undefined, name: string | undefined, flags: EventsFlags, command: Command) => {
      const format = parseOutputFormat(flags.output, ['table', 'yaml', 'json']);
      const signal = context.io.signal;
      let events: ObjectEvent[];
      if (kindName !== undefined && name !== undefined) {
        const { client, ref, project } = await connectToObject(context, command, { kind: kindName, name, project: flags.project, action: 'show the events of' });
        events = (await client.listEvents(ref, { signal })).map((event) => ({ ...event, object: { kind: ref.kind, project: project ?? '', name } }));
      } else {
        const { client, settings } = await context.connect(command);
        const kinds = await client.kinds({ signal });
        const chosen = kindName === undefined ? kinds : [resolveKind(kinds, kindName)];
        events = await eventsOfKinds(client, chosen, (definition) => listProject(definition, flags.project, settings), signal);
      }
      if (flags.warnings) events = events.filter((event) => event.type === 'Warning');
      events.sort((a, b) => Date.parse(a.lastSeen) - Date.parse(b.lastSeen));
      if (format !== 'table') {
        context.out(formatDocument({ items: events }, format));
        return;
      }
      if (events.length === 0) {
        context.err('No events found.\n');
        return;
      }
      const now = (context.io.now ?? Date.now)();
      context.out(
        formatTable(
          ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'COUNT', 'FROM', 'MESSAGE'],
          events.map((event) => [
            formatAge(now - Date.parse(event.lastSeen)),
            event.type,
            event.reason,
            `${event.object.kind}/${event.object.project ? `${event.object.project}/` : ''}${event.object.name}`,
            String(event.count),
            event.source ?? '-',
            event.message,
          ]),
        ),
      );
    });
}

async function eventsOfKinds(
  client: ApiClient,
  kinds: readonly KindDefinition[],
  projectOf: (definition: KindDefinition) => string | undefined,
  signal: AbortSignal | undefined,
): Promise<ObjectEvent[]> {
  const refs: ObjectRef[] = [];
  for (const definition of kinds) {
    const project = projectOf(definition);
    for await (const object of client.listAll(definition.kind, { ...(project === undefined ? {} : { project }), ...(signal ? { signal } : {}) })) {
      refs.push({ kind: definition.kind, project: object.metadata.project, name: object.metadata.name });
    }
  }
  const events: ObjectEvent[] = [];
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const ref = refs[next++]!;
      const found = await client.listEvents(ref, { signal }).catch((error: unknown) => {
        // Deleted between the list and this read: it has no events to show any more.
        if ((error as { status?: number }).status === 404) return [];
        throw error;
      });
      for (const event of found) events.push({ ...event, object: { kind: ref.kind, project: ref.project ?? '', name: ref.name } });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, refs.length) }, worker));
  return events;
}
