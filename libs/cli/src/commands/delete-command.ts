import type { Command } from 'commander';
import { projectFor, type CommandContext } from '../command-context.js';
import { EXIT_FAILED } from '../describe-error.js';
import { formatDuration, parseDuration } from '../parse-duration.js';
import { resolveKind } from '../resolve-kind.js';
import { describeProgress, waitFor } from '../wait-for.js';

interface DeleteFlags {
  project?: string;
  cascade?: boolean;
  wait?: boolean;
  timeout: string;
}

export function registerDeleteCommand(program: Command, context: CommandContext): void {
  program
    .command('delete')
    .description('delete an object (its controllers tear down what they made first)')
    .argument('<kind>', 'kind, plural, singular or short name')
    .argument('<name>', 'the object')
    .option('-p, --project <project>', 'project (required for project-scoped kinds)')
    .option('--cascade', 'also delete the objects that still reference it, dependents first')
    .option('--wait', 'wait until the object is gone (its finalizers removed)')
    .option('--timeout <duration>', 'how long --wait waits, e.g. 30s, 2m', '120s')
    .addHelpText(
      'after',
      `
An object with finalizers is first marked for deletion; the row goes once every
controller has removed its finalizer. An object others still reference is not
deleted (the API names them) unless --cascade is given.

Examples:
  tug delete app web -p team-a --wait
  tug delete clusterinstance dev --cascade`,
    )
    .action(async (kindName: string, name: string, flags: DeleteFlags, command: Command) => {
      const timeoutMs = parseDuration(flags.timeout, '--timeout');
      const { client } = await context.connect(command);
      const signal = context.io.signal;
      const definition = resolveKind(await client.kinds({ signal }), kindName);
      const project = projectFor(definition, flags.project, 'delete');
      const ref = { kind: definition.kind, name, ...(project === undefined ? {} : { project }) };
      const result = await client.delete(ref, { ...(flags.cascade ? { cascade: true } : {}), ...(signal ? { signal } : {}) });
      const shown = `${definition.kind}/${name}`;
      if (result.deleted) {
        context.out(`${shown} deleted\n`);
        return;
      }
      context.out(`${shown} deletion requested; waiting for finalizers: ${result.object.metadata.finalizers.join(', ')}\n`);
      if (!flags.wait) return;
      const outcome = await waitFor({
        client,
        ref,
        target: { type: 'delete' },
        timeoutMs,
        pollIntervalMs: context.io.pollIntervalMs ?? 1_000,
        ...(signal ? { signal } : {}),
        ...(context.io.now ? { now: context.io.now } : {}),
      });
      if (outcome.outcome === 'met') {
        context.out(`${shown} deleted\n`);
        return;
      }
      const object = outcome.outcome === 'timeout' ? outcome.object : undefined;
      context.err(
        `error: ${shown} is still there after ${formatDuration(timeoutMs)} (${describeProgress(object)}): ` +
          'is the controller that owns each finalizer running?\n',
      );
      context.exitCode = EXIT_FAILED;
    });
}
