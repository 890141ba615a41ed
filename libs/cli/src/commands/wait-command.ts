import type { Command } from 'commander';
import type { ObjectRef } from '@tugboat/api-client';
import { NotFoundError, type Resource } from '@tugboat/resource-model';
import { listProject, projectFor, type CommandContext } from '../command-context.js';
import { EXIT_FAILED } from '../describe-error.js';
import { formatDuration, parseDuration } from '../parse-duration.js';
import { createProgressLine } from '../progress-line.js';
import { resolveKind } from '../resolve-kind.js';
import { UsageError } from '../usage-error.js';
import { conditionHolds, describeProgress, parseWaitTarget, waitFor, type WaitResult } from '../wait-for.js';

interface WaitFlags {
  project?: string;
  for: string;
  timeout: string;
  selector?: string;
  all?: boolean;
}

/** One object waited on, what was last seen of it, and how its wait ended. */
interface Waited {
  ref: ObjectRef;
  shown: string;
  last?: Resource | undefined;
  seen: boolean;
  result?: WaitResult | { outcome: 'stopped' };
}

export function registerWaitCommand(program: Command, context: CommandContext): void {
  program
    .command('wait')
    .description('wait until objects meet a condition (or are deleted), showing what it waits on')
    .argument('<kind>', 'kind, plural, singular or short name')
    .argument('[names...]', 'the objects (or -l SELECTOR, or --all)')
    .requiredOption('--for <target>', 'condition=TYPE[=True|False|Unknown], or delete')
    .option('-p, --project <project>', "project (required to name objects of project-scoped kinds; default: the context's)")
    .option('-l, --selector <selector>', 'every object of the kind whose labels match, e.g. tier=prod,canary!=true')
    .option('--all', 'every object of the kind (in the project, if one is given)')
    .option('--timeout <duration>', 'give up after this long, e.g. 30s, 2m', '120s')
    .addHelpText(
      'after',
      `
Every object named (or matched by -l, or --all: the objects there when the wait
starts) must meet the condition. Each is followed through the API's watch
(polled where the API has none). While waiting, stderr shows which are not
there yet and where they are: on a terminal as one line rewritten in place,
otherwise one line per change.

A condition counts once the controller has observed the object's current
generation. The wait ends with exit code 1 if an object is Failed at its
current generation, is not found, or the timeout passes (the message names
the objects not there yet).

Examples:
  tug wait app web -p team-a --for=condition=Ready --timeout=5m
  tug wait app web api -p team-a --for=condition=Ready
  tug wait app -l tier=prod -p team-a --for=condition=Ready
  tug wait clusterinstance --all --for=delete`,
    )
    .action(async (kindName: string, names: string[], flags: WaitFlags, command: Command) => {
      const target = parseWaitTarget(flags.for);
      const timeoutMs = parseDuration(flags.timeout, '--timeout');
      const picks = [names.length > 0, flags.selector !== undefined, flags.all === true].filter(Boolean).length;
      if (picks !== 1) {
        throw new UsageError('name the objects, or give -l SELECTOR, or --all (exactly one of them)', [{ path: 'names', rule: 'one-of' }]);
      }
      const connection = await context.connect(command);
      const { client, settings } = connection;
      const signal = context.io.signal;
      const kinds = await client.kinds(signal ? { signal } : {});
      const definition = resolveKind(kinds, kindName);

      let refs: ObjectRef[];
      if (names.length > 0) {
        const project = projectFor(definition, flags.project ?? settings.project, 'wait for');
        refs = [...new Set(names)].map((name) => ({ kind: definition.kind, name, ...(project === undefined ? {} : { project }) }));
      } else {
        const project = listProject(definition, flags.project, settings);
        const found: ObjectRef[] = [];
        for await (const object of client.listAll(definition.kind, {
          ...(project === undefined ? {} : { project }),
          ...(flags.selector === undefined ? {} : { labelSelector: flags.selector }),
          ...(signal ? { signal } : {}),
        })) {
          found.push({ kind: definition.kind, name: object.metadata.name, ...(definition.scope === 'Platform' ? {} : { project: object.metadata.project }) });
        }
        if (found.length === 0) {
          throw new NotFoundError(
            `no ${definition.plural} found${flags.selector === undefined ? '' : ` matching ${flags.selector}`}${project === undefined ? '' : ` in project ${project}`}`,
          );
        }
        refs = found;
      }
      // Objects of several projects (a list without -p) are told apart by their project.
      const projects = new Set(refs.map((ref) => ref.project ?? ''));
      const waited: Waited[] = refs.map((ref) => ({
        ref,
        shown: projects.size > 1 ? `${definition.kind}/${ref.project}/${ref.name}` : `${definition.kind}/${ref.name}`,
        seen: false,
      }));

      const wanted = target.type === 'delete' ? 'deletion' : `condition ${target.condition}=${target.status}`;
      const isMet = (entry: Waited) =>
        entry.result?.outcome === 'met' || (entry.seen && (target.type === 'delete' ? entry.last === undefined : entry.last !== undefined && conditionHolds(entry.last, target.condition, target.status)));
      const progress = createProgressLine({ sink: context.io.stderr, ...(context.io.now ? { now: context.io.now } : {}) });
      const report = () => {
        if (waited.length === 1) {
          const only = waited[0]!;
          progress.update(`waiting for ${wanted} on ${only.shown}: ${only.last === undefined ? 'not found' : describeProgress(only.last)}`);
          return;
        }
        const notYet = waited.filter((entry) => !isMet(entry));
        progress.update(
          `waiting for ${wanted} on ${waited.length} ${definition.plural}: ${waited.length - notYet.length} met; not yet: ` +
            notYet.map((entry) => `${entry.shown} (${entry.seen ? (entry.last === undefined ? 'not found' : describeProgress(entry.last)) : 'not read yet'})`).join(', '),
        );
      };

      // The first object that fails or is missing ends the whole wait, as all must meet the condition.
      const stopAll = new AbortController();
      const waitSignal = signal === undefined ? stopAll.signal : AbortSignal.any([signal, stopAll.signal]);
      try {
        await Promise.all(
          waited.map(async (entry) => {
            try {
              entry.result = await waitFor({
                client,
                ref: entry.ref,
                target,
                timeoutMs,
                pollIntervalMs: context.io.pollIntervalMs ?? 1_000,
                signal: waitSignal,
                onProgress: (object) => {
                  entry.seen = true;
                  entry.last = object;
                  report();
                },
              });
            } catch (error) {
              if (!stopAll.signal.aborted || signal?.aborted) throw error;
              entry.result = { outcome: 'stopped' };
              return;
            }
            if (entry.result.outcome === 'failed' || entry.result.outcome === 'not-found') stopAll.abort();
          }),
        );
      } finally {
        progress.done();
      }

      const problems: string[] = [];
      for (const entry of waited) {
        const result = entry.result!;
        if (result.outcome === 'not-found') {
          if (waited.length === 1) throw new NotFoundError(`${entry.shown} not found${entry.ref.project === undefined ? '' : ` in project ${entry.ref.project}`}`);
          problems.push(`error: ${entry.shown} not found${entry.ref.project === undefined ? '' : ` in project ${entry.ref.project}`}`);
        } else if (result.outcome === 'failed') {
          problems.push(`error: ${entry.shown} is Failed at generation ${result.object.metadata.generation}: ${result.reason}`);
        }
      }
      if (problems.length > 0) {
        context.err(problems.join('\n') + '\n');
        context.exitCode = EXIT_FAILED;
        return;
      }
      const late = waited.filter((entry) => entry.result!.outcome === 'timeout');
      if (late.length > 0) {
        if (waited.length === 1) {
          const only = late[0]!;
          const result = only.result;
          const object = result?.outcome === 'timeout' ? result.object : undefined;
          context.err(`error: timed out after ${formatDuration(timeoutMs)} waiting for ${wanted} on ${only.shown}; now: ${describeProgress(object)}\n`);
        } else {
          const lines = [`error: timed out after ${formatDuration(timeoutMs)} waiting for ${wanted}: ${late.length} of ${waited.length} not yet:`];
          for (const entry of late) {
            const result = entry.result;
            const object = result?.outcome === 'timeout' ? result.object : undefined;
            lines.push(`  ${entry.shown}: ${describeProgress(object)}`);
          }
          context.err(lines.join('\n') + '\n');
        }
        context.exitCode = EXIT_FAILED;
        return;
      }
      for (const entry of waited) context.out(`${entry.shown} ${target.type === 'delete' ? 'deleted' : 'condition met'}\n`);
    });
}
