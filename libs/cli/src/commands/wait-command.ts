import type { Command } from 'commander';
import { NotFoundError } from '@tugboat/resource-model';
import { connectToObject, type CommandContext } from '../command-context.js';
import { EXIT_FAILED } from '../describe-error.js';
import { formatDuration, parseDuration } from '../parse-duration.js';
import { createProgressLine } from '../progress-line.js';
import { describeProgress, parseWaitTarget, waitFor } from '../wait-for.js';

interface WaitFlags {
  project?: string;
  for: string;
  timeout: string;
}

export function registerWaitCommand(program: Command, context: CommandContext): void {
  program
    .command('wait')
    .description('wait until an object meets a condition (or is deleted), showing what it waits on')
    .argument('<kind>', 'kind, plural, singular or short name')
    .argument('<name>', 'the object')
    .requiredOption('--for <target>', 'condition=TYPE[=True|False|Unknown], or delete')
    .option('-p, --project <project>', "project (required for project-scoped kinds; default: the context's)")
    .option('--timeout <duration>', 'give up after this long, e.g. 30s, 2m', '120s')
    .addHelpText(
      'after',
      `
The object is followed through the API's watch (polled where the API has
none). While waiting, stderr shows its phase, generations and conditions: on a
terminal as one line rewritten in place, otherwise one line per change.

A condition counts once the controller has observed the object's current
generation. The wait ends with exit code 1 if the object is Failed at its
current generation, is not found, or the timeout passes.

Examples:
  tug wait app web -p team-a --for=condition=Ready --timeout=5m
  tug wait clusterinstance dev --for=delete`,
    )
    .action(async (kindName: string, name: string, flags: WaitFlags, command: Command) => {
      const target = parseWaitTarget(flags.for);
      const timeoutMs = parseDuration(flags.timeout, '--timeout');
      const { client, ref, shown, project } = await connectToObject(context, command, { kind: kindName, name, project: flags.project, action: 'wait for' });
      const wanted = target.type === 'delete' ? 'deletion' : `condition ${target.condition}=${target.status}`;
      const progress = createProgressLine({ sink: context.io.stderr, ...(context.io.now ? { now: context.io.now } : {}) });
      let result;
      try {
        result = await waitFor({
          client,
          ref,
          target,
          timeoutMs,
          pollIntervalMs: context.io.pollIntervalMs ?? 1_000,
          ...(context.io.signal ? { signal: context.io.signal } : {}),
          onProgress: (object) => progress.update(`waiting for ${wanted} on ${shown}: ${object === undefined ? 'not found' : describeProgress(object)}`),
        });
      } finally {
        progress.done();
      }
      switch (result.outcome) {
        case 'met':
          context.out(`${shown} ${target.type === 'delete' ? 'deleted' : 'condition met'}\n`);
          return;
        case 'not-found':
          throw new NotFoundError(`${shown} not found${project === undefined ? '' : ` in project ${project}`}`);
        case 'failed':
          context.err(`error: ${shown} is Failed at generation ${result.object.metadata.generation}: ${result.reason}\n`);
          context.exitCode = EXIT_FAILED;
          return;
        case 'timeout':
          context.err(`error: timed out after ${formatDuration(timeoutMs)} waiting for ${wanted} on ${shown}; now: ${describeProgress(result.object)}\n`);
          context.exitCode = EXIT_FAILED;
          return;
      }
    });
}
