import type { Command } from 'commander';
import type { ApiClient, ObjectRef } from '@tugboat/api-client';
import { isErrorCode, type KindDefinition, type Resource } from '@tugboat/resource-model';
import { collect, connectToObject, connectWithManifests, type CommandContext } from '../command-context.js';
import { describeError, EXIT_FAILED } from '../describe-error.js';
import { describeHolder, findFinalizerHolders } from '../finalizer-holders.js';
import { displayName } from '../manifest-key.js';
import { formatDuration, parseDuration } from '../parse-duration.js';
import { createProgressLine } from '../progress-line.js';
import { UsageError } from '../usage-error.js';
import { waitFor } from '../wait-for.js';

interface DeleteFlags {
  project?: string;
  filename: string[];
  cascade?: boolean;
  wait?: boolean;
  force?: boolean;
  timeout: string;
}

/** One object to delete, and how to name it in output and in the hint of a timeout. */
interface Target {
  ref: ObjectRef;
  shown: string;
  /** `tug delete …` arguments that name this object again (for the `--force` hint). */
  command: string;
}

export function registerDeleteCommand(program: Command, context: CommandContext): void {
  program
    .command('delete')
    .description('delete an object, or what a manifest applied (its controllers tear down what they made first)')
    .argument('[kind]', 'kind, plural, singular or short name')
    .argument('[name]', 'the object')
    .option('-f, --filename <path>', 'delete the objects of these files instead: a file, a directory or - for stdin; repeatable', collect, [])
    .option('-p, --project <project>', "project (required for project-scoped kinds; default: the context's)")
    .option('--cascade', 'also delete the objects that still reference it, dependents first')
    .option('--wait', 'wait until the object is gone (its finalizers removed)')
    .option('--timeout <duration>', 'how long --wait waits, e.g. 30s, 2m', '120s')
    .option('--force', "platform admin only: remove every finalizer left on it without its controller's teardown (audited)")
    .addHelpText(
      'after',
      `
An object with finalizers is first marked for deletion; the row goes once every
controller has removed its finalizer (a finalizer is named after its controller).
An object others still reference is not deleted (the API names them) unless
--cascade is given.

With -f, the objects of the manifest are deleted dependents first (the reverse
of the order apply uses); one that is not there counts as already gone.

If a delete --wait times out, the message names each finalizer left, the
controller that owns it and the last sign of that controller on the object.
Start that controller (tug up starts every services/*-controller), or, as the
platform admin and knowing that what it made is then left behind, run the
same delete with --force: each finalizer is removed through
DELETE .../finalizers/NAME?force=true, recorded as a Warning event and a
revision with your identity, and tug prints a warning per finalizer.

Examples:
  tug delete app web -p team-a --wait
  tug delete clusterinstance dev --cascade
  tug delete -f examples/first-app.yaml --wait
  tug delete app web -p team-a --force`,
    )
    .action(async (kindName: string | undefined, name: string | undefined, flags: DeleteFlags, command: Command) => {
      const timeoutMs = parseDuration(flags.timeout, '--timeout');
      const fromFiles = flags.filename.length > 0;
      if (fromFiles && kindName !== undefined) {
        throw new UsageError('give either -f FILE or KIND NAME, not both', [{ path: '--filename', rule: 'exclusive' }]);
      }
      if (!fromFiles && (kindName === undefined || name === undefined)) {
        throw new UsageError('name the object (tug delete KIND NAME) or the manifest (tug delete -f FILE)', [{ path: 'name', rule: 'required' }]);
      }
      const deadline = Date.now() + timeoutMs;
      if (!fromFiles) {
        const { client, ref, shown, kinds, definition } = await connectToObject(context, command, {
          kind: kindName!,
          name: name!,
          project: flags.project,
          action: 'delete',
        });
        const target: Target = { ref, shown, command: commandFor(definition, ref) };
        const marked = await deleteOne(context, client, target, flags);
        if (marked !== undefined && flags.wait) await waitGone(context, client, kinds, target, deadline - Date.now(), timeoutMs);
        return;
      }
      await deleteManifests(context, command, flags, deadline, timeoutMs);
    });
}

/** `tug delete -f`: every object of the manifests, dependents first; not found counts as gone. */
async function deleteManifests(context: CommandContext, command: Command, flags: DeleteFlags, deadline: number, timeoutMs: number): Promise<void> {
  const { client, settings, kinds, manifests: applyOrder } = await connectWithManifests(context, command, flags);
  // apply sends referenced objects and owners first; deleting goes the other way round, so an
  // object is never refused as "still used" by another object of the same manifest.
  const manifests = applyOrder.reverse();
  const pending: Target[] = [];
  let gone = 0;
  let failed = 0;
  for (const manifest of manifests) {
    const project = manifest.definition.scope === 'Platform' ? undefined : manifest.input.metadata.project;
    const ref: ObjectRef = { kind: manifest.definition.kind, name: manifest.input.metadata.name, ...(project === undefined ? {} : { project }) };
    const target: Target = { ref, shown: displayName(manifest), command: commandFor(manifest.definition, ref) };
    try {
      const marked = await deleteOne(context, client, target, flags);
      if (marked === undefined) gone++;
      else pending.push(target);
    } catch (error) {
      if (isErrorCode(error, 'NotFound')) {
        context.out(`${target.shown} not found (already gone)\n`);
        gone++;
        continue;
      }
      if (context.io.signal?.aborted) throw error;
      // Report this object and go on with the others, as kubectl does.
      const report = describeError(error, { serverUrl: settings.server });
      context.err(`error: ${target.shown}: ${report.lines.join('\n').replace(/^error: /, '')}\n`);
      failed++;
    }
  }
  if (flags.wait) {
    for (const target of pending) {
      if (!(await waitGone(context, client, kinds, target, deadline - Date.now(), timeoutMs))) break;
      gone++;
    }
  }
  const waiting = flags.wait ? 0 : pending.length;
  context.err(
    `${manifests.length} object${manifests.length === 1 ? '' : 's'}: ${gone} gone` +
      (waiting > 0 ? `, ${waiting} waiting for finalizers` : '') +
      (failed > 0 ? `, ${failed} refused` : '') +
      '\n',
  );
  if (failed > 0) context.exitCode = EXIT_FAILED;
}

/**
 * Deletes (or marks) one object; with `--force`, then removes every finalizer left on it through
 * the admin's force path and warns about each. Resolves to the object while it is still there.
 */
async function deleteOne(context: CommandContext, client: ApiClient, target: Target, flags: DeleteFlags): Promise<Resource | undefined> {
  const signal = context.io.signal;
  const { shown, ref } = target;
  const result = await client.delete(ref, { ...(flags.cascade ? { cascade: true } : {}), ...(signal ? { signal } : {}) });
  if (result.deleted) {
    context.out(`${shown} deleted\n`);
    return undefined;
  }
  let object: Resource | undefined = result.object;
  if (flags.force) {
    for (const finalizer of result.object.metadata.finalizers) {
      const removed = await client.removeFinalizer(ref, finalizer, { force: true, ...(signal ? { signal } : {}) });
      context.err(
        `warning: force-removed finalizer ${finalizer} from ${shown}: controller ${finalizer} did not tear down what it made for it; ` +
          'check for leftovers by hand (recorded as a FinalizerForceRemoved event and a revision)\n',
      );
      object = removed.deleted ? undefined : removed.object;
    }
    if (object === undefined) {
      context.out(`${shown} deleted\n`);
      return undefined;
    }
    if (object.metadata.finalizers.length === 0) {
      // No finalizer left, but the row stays while objects it owns are still finalizing.
      context.out(`${shown} deletion requested; finalizers removed, waiting for the objects it owns to go\n`);
      return object;
    }
  }
  context.out(`${shown} deletion requested; waiting for ${holdersOf(object)}\n`);
  return object;
}

/** What still holds an object whose deletion was requested: its finalizers, else the objects that use it or that it owns. */
function holdersOf(object: Resource): string {
  const finalizers = object.metadata.finalizers;
  return finalizers.length > 0 ? `finalizers: ${finalizers.join(', ')}` : 'the objects that use it (or that it owns) to go first';
}

/** Waits until the object is gone; on timeout, says who holds it and what to do. Resolves to whether it went. */
async function waitGone(context: CommandContext, client: ApiClient, kinds: readonly KindDefinition[], target: Target, remainingMs: number, timeoutMs: number): Promise<boolean> {
  const signal = context.io.signal;
  const { shown, ref } = target;
  const progress = createProgressLine({ sink: context.io.stderr, ...(context.io.now ? { now: context.io.now } : {}) });
  let outcome;
  try {
    outcome = await waitFor({
      client,
      ref,
      target: { type: 'delete' },
      timeoutMs: Math.max(1, remainingMs),
      pollIntervalMs: context.io.pollIntervalMs ?? 1_000,
      ...(signal ? { signal } : {}),
      onProgress: (object) => {
        if (object !== undefined) progress.update(`waiting for ${shown} to go: ${holdersOf(object)}`);
      },
    });
  } finally {
    progress.done();
  }
  if (outcome.outcome === 'met') {
    context.out(`${shown} deleted\n`);
    return true;
  }
  let object = outcome.outcome === 'timeout' ? outcome.object : undefined;
  if (object === undefined) {
    // The time ran out before the first read (a short --timeout on a slow link): read it once more,
    // so the message can still say who holds it.
    object = await client.get(ref, signal ? { signal } : {});
    if (object === undefined) {
      context.out(`${shown} deleted\n`);
      return true;
    }
  }
  const lines = [`error: ${shown} is still there after ${formatDuration(timeoutMs)}`];
  if (object !== undefined && object.metadata.finalizers.length > 0) {
    const holders = await findFinalizerHolders(client, ref, object, kinds, signal);
    const now = (context.io.now ?? Date.now)();
    lines[0] += `: ${holders.length === 1 ? 'a finalizer is' : 'finalizers are'} still on it`;
    for (const holder of holders) lines.push(`  ${describeHolder(holder, now)}`);
    lines.push(
      '  what to do: start the controller(s) above (tug up starts every services/*-controller) and wait again;',
      '  or, as the platform admin, give up their teardown (what they made for it is left behind, the removal is audited):',
      `    tug delete ${target.command} --force`,
    );
  } else if (object !== undefined) {
    lines[0] += ': no finalizer is left on it; it waits for the objects it owns, which are still being deleted';
  }
  context.err(lines.join('\n') + '\n');
  context.exitCode = EXIT_FAILED;
  return false;
}

function commandFor(definition: KindDefinition, ref: ObjectRef): string {
  const name = definition.singular || definition.kind.toLowerCase();
  return `${name} ${ref.name}${ref.project === undefined ? '' : ` -p ${ref.project}`}`;
}
