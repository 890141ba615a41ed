import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatTable } from '../format-table.js';
import { resolveKind } from '../resolve-kind.js';

interface KindsFlags {
  output: string;
}

export function registerKindsCommand(program: Command, context: CommandContext): void {
  program
    .command('kinds')
    .description('list the kinds the API knows (built in and registered), or show one with its schema')
    .argument('[kind]', 'one kind, by any of its names')
    .option('-o, --output <format>', 'table, yaml or json (yaml and json include the schemas)', 'table')
    .addHelpText(
      'after',
      `
Any name in the NAMES column works wherever tug takes a KIND.

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
}
