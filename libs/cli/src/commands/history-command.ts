import type { Command } from 'commander';
import { NotFoundError } from '@tugboat/resource-model';
import { connectToObject, type CommandContext } from '../command-context.js';
import { formatFieldChanges } from '../format-diff.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatAge, formatTable } from '../format-table.js';
import { parseCount } from '../parse-count.js';
import { terminalStyle } from '../terminal-style.js';
import { UsageError } from '../usage-error.js';

interface HistoryFlags {
  project?: string;
  output: string;
  diff?: string;
  revision?: string;
}

export function registerHistoryCommand(program: Command, context: CommandContext): void {
  program
    .command('history')
    .description("show an object's revisions (who changed what, when), one revision's spec, or the diff between two")
    .argument('<kind>', 'kind, plural, singular or short name')
    .argument('<name>', 'the object')
    .option('-p, --project <project>', "project (required for project-scoped kinds; default: the context's)")
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .option('--diff <range>', 'N..M: what changed from revision N to M; N: from N to the newest')
    .option('--revision <n>', 'show the spec of one revision')
    .addHelpText(
      'after',
      `
Every change is a revision, numbered by the resourceVersion it produced: spec
and label changes, status writes, finalizer removals, deletion requests, and
operator controls (with a NOTE such as "suspended"). Secret values are never
kept in revisions, so a change of a secret alone shows no field in a diff.

Examples:
  tug history app web -p team-a
  tug history app web -p team-a --diff 3..5
  tug history app web -p team-a --revision 3 -o yaml`,
    )
    .action(async (kindName: string, name: string, flags: HistoryFlags, command: Command) => {
      const format = parseOutputFormat(flags.output, ['table', 'yaml', 'json']);
      if (flags.diff !== undefined && flags.revision !== undefined) {
        throw new UsageError('--diff and --revision: give one of them', [{ path: '--diff', rule: 'exclusive' }]);
      }
      const range = flags.diff === undefined ? undefined : parseRange(flags.diff);
      const revisionNumber = flags.revision === undefined ? undefined : parseCount(flags.revision, '--revision');
      const { client, ref, shown, definition } = await connectToObject(context, command, { kind: kindName, name, project: flags.project, action: 'show the history of' });
      const signal = context.io.signal;

      if (range !== undefined) {
        const answer = await client.revisionDiff(ref, range, { signal });
        if (format !== 'table') {
          context.out(formatDocument(answer, format));
          return;
        }
        context.out(`${shown}: revision ${answer.from} → ${answer.to}\n`);
        context.out(
          answer.diff.length === 0
            ? '  no changes\n'
            : formatFieldChanges(answer.diff, { style: terminalStyle(context.color), secretFields: definition.secretFields }),
        );
        return;
      }
      if (revisionNumber !== undefined) {
        const revision = await client.revision(ref, revisionNumber, { signal });
        if (revision === undefined) throw new NotFoundError(`${shown} has no revision ${revisionNumber} (tug history lists the ones kept)`);
        context.out(formatDocument(revision, format === 'json' ? 'json' : 'yaml'));
        return;
      }
      const revisions = await client.revisions(ref, { signal });
      if (format !== 'table') {
        context.out(formatDocument({ items: revisions }, format));
        return;
      }
      const now = (context.io.now ?? Date.now)();
      context.out(
        formatTable(
          ['REVISION', 'GEN', 'CAUSE', 'ACTOR', 'AGE', 'NOTE'],
          revisions.map((revision) => [
            String(revision.revision),
            String(revision.generation),
            revision.cause,
            revision.actor,
            formatAge(now - Date.parse(revision.at)),
            revision.note ?? '',
          ]),
        ),
      );
    });
}

/** `3..5`, or `3` (to the newest). */
export function parseRange(text: string): { from: number; to?: number } {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim());
  if (match === null) throw new UsageError(`--diff: "${text}" is not N..M or N (revision numbers, see tug history)`, [{ path: '--diff', rule: 'range' }]);
  return { from: Number(match[1]), ...(match[2] === undefined ? {} : { to: Number(match[2]) }) };
}
