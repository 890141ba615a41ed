import type { Command } from 'commander';
import { connectToObject, type CommandContext } from '../command-context.js';
import { EXIT_FAILED } from '../describe-error.js';
import { formatDuration, parseDuration } from '../parse-duration.js';
import { createProgressLine } from '../progress-line.js';
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
    .option('-p, --project <project>', "project (required for project-scoped kinds; default: the context's)")
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
      const { client, ref, shown } = await connectToObject(context, command, { kind: kindName, name, project: flags.project, action: 'delete' });
      const signal = context.io.signal;
      const result = await client.delete(ref, { ...(flags.cascade ? { cascade: true } : {}), ...(signal ? { signal } : {}) });
      if (result.deleted) {
        context.out(`${shown} deleted\n`);
        return;
      }
      context.out(`${shown} deletion requested; waiting for finalizers: ${result.object.metadata.finalizers.join(', ')}\n`);
      if (!flags.wait) return;
      const progress = createProgressLine({ sink: context.io.stderr, ...(context.io.now ? { now: context.io.now } : {}) });
      let outcome;
      try {
        outcome = await waitFor({
          client,
          ref,
          target: { type: 'delete' },
          timeoutMs,
          pollIntervalMs: context.io.pollIntervalMs ?? 1_000,
          ...(signal ? { signal } : {}),
          onProgress: (object) => {
            if (object !== undefined) progress.update(`waiting for ${shown} to go: finalizers ${object.metadata.finalizers.join(', ') || 'none'}`);
          },
        });
      } finally {
        progress.done();
      }
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
