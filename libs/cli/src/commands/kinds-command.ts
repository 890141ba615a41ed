import type { Command } from 'commander';
import type { KindRegistration } from '@tugboat/api-client';
import { isUnreachable, describeError, EXIT_FAILED } from '../describe-error.js';
import { collect, type CommandContext } from '../command-context.js';
import { readManifestDocuments, type ManifestDocument } from '../read-manifests.js';
import { UsageError } from '../usage-error.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatTable } from '../format-table.js';
import { resolveKind } from '../resolve-kind.js';

interface KindsFlags {
  output: string;
}

interface KindsApplyFlags {
  filename: string[];
}

export function registerKindsCommand(program: Command, context: CommandContext): void {
  const kindsCommand = program
    .command('kinds')
    .description('list the kinds the API knows (built in and registered), or one of them; -o yaml|json shows the schemas')
    .argument('[kind]', 'one kind, by any of its names')
    .option('-o, --output <format>', 'table, yaml or json (yaml and json include the schemas)', 'table')
    .addHelpText(
      'after',
      `
Any name in the NAMES column works wherever tug takes a KIND.

  tug kinds apply -f FILE    register kinds, or update them (admin)
  tug kinds delete KIND      delete a kind that has no objects left (admin)

Examples:
  tug kinds
  tug kinds app -o yaml`,
    )
    .action(async (kindName: string | undefined, flags: KindsFlags, command: Command) => {
      const format = parseOutputFormat(flags.output, ['table', 'yaml', 'json']);
      const { client } = await context.connect(command);
      const all = await client.kinds({ signal: context.io.signal });
      const kinds = kindName === undefined ? [...all].sort((a, b) => a.kind.localeCompare(b.kind)) : [resolveKind(all, kindName)];
      if (format !== 'table') {
        context.out(formatDocument(kindName === undefined ? { items: kinds } : kinds[0]!, format));
        return;
      }
      context.out(
        formatTable(
          ['KIND', 'NAMES', 'SCOPE', 'CONTROLLER', 'REFERENCES', 'BUILT-IN'],
          kinds.map((kind) => [
            kind.kind,
            [kind.plural, kind.singular, ...kind.shortNames].join(','),
            kind.scope,
            kind.controller,
            kind.references.length > 0 ? kind.references.map((reference) => `${reference.path}→${reference.kind}`).join(',') : '-',
            kind.builtIn ? 'yes' : 'no',
          ]),
        ),
      );
    });

  kindsCommand
    .command('apply')
    .description('register the kinds defined in YAML or JSON files, or update them where they differ (admin)')
    .option('-f, --filename <path>', 'a file, a directory (its .yaml, .yml and .json files) or - for stdin; repeatable', collect, [])
    .addHelpText(
      'after',
      `
Each document is one kind definition (the format of \`tug kinds KIND -o yaml\`; see docs/kinds.md).
Kinds that others in the files reference are applied first. An update must keep every stored
object valid: the API refuses a schema that would reject some (naming them), and a change of
controller, references or secretFields while objects exist. Built-in kinds cannot be changed.
Prints "kind KIND created|configured|unchanged" per document; any refusal makes the exit code 1.

Examples:
  tug kinds apply -f gadget-kind.yaml
  tug kinds gadget -o yaml > gadget.yaml && tug kinds apply -f gadget.yaml`,
    )
    .action(async (flags: KindsApplyFlags, command: Command) => {
      const documents = await readManifestDocuments({
        paths: flags.filename,
        cwd: context.io.cwd,
        ...(context.io.stdin === undefined ? {} : { stdin: context.io.stdin }),
      });
      const definitions = orderKindDocuments(documents.map(toKindRegistration));
      const { client, settings } = await context.connect(command);
      for (const definition of definitions) {
        try {
          const { action } = await client.applyKind(definition, { signal: context.io.signal });
          context.out(`kind ${definition.kind} ${action === 'updated' ? 'configured' : action}\n`);
        } catch (error) {
          // One refused kind does not stop the others; an unreachable API does.
          if (isUnreachable(error) || context.io.signal?.aborted) throw error;
          const report = describeError(error, { serverUrl: settings.server, subject: `kind ${definition.kind}` });
          context.err(report.lines.join('\n') + '\n');
          context.exitCode = Math.max(context.exitCode, EXIT_FAILED);
        }
      }
    });

  kindsCommand
    .command('delete')
    .description('delete kinds that no object and no other kind uses any more (admin)')
    .argument('<kind...>', 'kinds, by any of their names')
    .addHelpText(
      'after',
      `
The API refuses (exit 1) while objects of the kind exist (it names some: delete them first) or
while another kind references it. Built-in kinds cannot be deleted.

Example:
  tug kinds delete gadget`,
    )
    .action(async (names: string[], _flags: unknown, command: Command) => {
      const { client } = await context.connect(command);
      for (const name of names) {
        const deleted = await client.deleteKind(name, { signal: context.io.signal });
        context.out(`kind ${deleted.kind} deleted\n`);
      }
    });
}

/** A document as a kind definition: an object naming its kind; the API checks the rest. */
function toKindRegistration(document: ManifestDocument): KindRegistration {
  const { value, source } = document;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${source}: a kind definition must be an object`, [{ path: source, rule: 'type' }]);
  const kind = (value as Record<string, unknown>)['kind'];
  if (typeof kind !== 'string' || kind === '') throw new UsageError(`${source}: kind: must name the kind (e.g. kind: Gadget)`, [{ path: `${source}: kind`, rule: 'required' }]);
  return value as KindRegistration;
}

/** Kinds referenced by others in the same files first; otherwise the files' order. */
export function orderKindDocuments(definitions: KindRegistration[]): KindRegistration[] {
  const byKind = new Map(definitions.map((definition) => [definition.kind, definition]));
  const ordered: KindRegistration[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (definition: KindRegistration): void => {
    if (placed.has(definition.kind) || visiting.has(definition.kind)) return;
    visiting.add(definition.kind);
    for (const reference of Array.isArray(definition.references) ? definition.references : []) {
      const target = byKind.get(reference?.kind);
      if (target !== undefined && target !== definition) place(target);
    }
    visiting.delete(definition.kind);
    placed.add(definition.kind);
    ordered.push(definition);
  };
  for (const definition of definitions) place(definition);
  return ordered;
}
