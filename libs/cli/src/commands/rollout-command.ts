import type { ApiClient, ApplyItemResult, Rollout, RolloutRelease } from '@tugboat/api-client';
import { APPLICATION_LABELS, NotFoundError, TIER_LABEL } from '@tugboat/resource-model';
import type { Command } from 'commander';
import { projectFor, type CommandContext } from '../command-context.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatTable } from '../format-table.js';
import { kindSlashName } from '../kind-slash-name.js';
import { resolveKind } from '../resolve-kind.js';
import { UsageError } from '../usage-error.js';

/**
 * `tug rollout`: a person's side of delivery. The API writes a Rollout for every change of an
 * Application in a tier; in a tier whose policy asks for approval it waits for someone allowed to
 * approve or reject it. These commands decide them, show a tier's history, and go back to an
 * earlier release, through `POST /v1/rollouts/{name}/approve|reject` and
 * `POST /v1/applications/{name}/undo` (the API checks who may: docs/access-control.md).
 */

interface ProjectFlags {
  project?: string;
}

interface DecideFlags extends ProjectFlags {
  tier?: string;
  message?: string;
}

interface HistoryFlags extends ProjectFlags {
  tier?: string;
  output: string;
}

interface UndoFlags extends ProjectFlags {
  tier?: string;
  toRelease?: string;
  component?: string;
}

/** What a rollout command's argument names: one Rollout, or an Application (and a tier). */
export type RolloutTarget = { rollout: string } | { application: string };

/**
 * `NAME` or `rollout/NAME` is a Rollout; `application/NAME` an Application. `bare` says what a
 * bare NAME is: history and undo only take Applications, so there a bare name is one.
 */
export function parseRolloutTarget(text: string, kindOf: (name: string) => string, bare: 'rollout' | 'application'): RolloutTarget {
  const { kind, name } = kindSlashName(text, undefined);
  if (name === undefined) return bare === 'rollout' ? { rollout: text } : { application: text };
  const resolved = kindOf(kind);
  if (resolved === 'Application') return { application: name };
  if (resolved === 'Rollout' && bare === 'rollout') return { rollout: name };
  const wanted = bare === 'rollout' ? "a rollout's name or application/NAME with --tier" : 'application/NAME';
  throw new UsageError(`"${text}" is a ${resolved}: give ${wanted}`, [{ path: 'target', rule: 'kind' }]);
}

/**
 * `web=shop-web-0123456789ab@0123456789ab`: the release and the first 12 hex of its digest. A
 * component on its definition's own image shows `(definition)`.
 */
export function formatRolloutRelease(release: RolloutRelease): string {
  const digest = release.image === undefined ? undefined : /@sha256:([0-9a-f]{12})[0-9a-f]*$/.exec(release.image)?.[1];
  if (release.release === undefined) return `${release.component}=${release.image ?? '(definition)'}`;
  return `${release.component}=${release.release}${digest === undefined ? '' : `@${digest}`}`;
}

/** `alice (admin)`, `automatic`, or `-` while undecided. */
function decidedBy(rollout: Rollout): string {
  const decision = rollout.status?.decision;
  if (decision === undefined) return '-';
  if (decision.action === 'automatic') return 'automatic';
  return decision.role === undefined ? decision.by : `${decision.by} (${decision.role})`;
}

/** The decision's time, else when the Rollout was written; to the second, UTC. */
function decidedAt(rollout: Rollout): string {
  return (rollout.status?.decision?.at ?? rollout.metadata.createdAt).replace(/\.\d+Z$/, 'Z');
}

export const HISTORY_COLUMNS = ['REVISION', 'STATE', 'RELEASES', 'CAUSE', 'DECIDED BY', 'AT'] as const;

export function historyRow(rollout: Rollout): string[] {
  return [
    String(rollout.spec.revision),
    rollout.status?.state ?? '-',
    rollout.spec.releases.length === 0 ? '-' : rollout.spec.releases.map(formatRolloutRelease).join(', '),
    rollout.spec.cause,
    decidedBy(rollout),
    decidedAt(rollout),
  ];
}

/** Tiers by name, each newest revision first. */
export function groupByTier(rollouts: readonly Rollout[]): Map<string, Rollout[]> {
  const tiers = new Map<string, Rollout[]>();
  for (const rollout of [...rollouts].sort((a, b) => a.spec.tier.localeCompare(b.spec.tier) || b.spec.revision - a.spec.revision)) {
    tiers.set(rollout.spec.tier, [...(tiers.get(rollout.spec.tier) ?? []), rollout]);
  }
  return tiers;
}

function projectFlag(project: string | undefined): string {
  return project ? ` -p ${project}` : '';
}

/** One line: what the Rollout is, where, and what it does now (with the command to run when it waits on a person). */
export function describeRollout(rollout: Rollout, project: string | undefined, lead = 'rollout'): string {
  const where = `${lead} ${rollout.metadata.name} (application ${rollout.spec.application.name}, tier ${rollout.spec.tier}, revision ${rollout.spec.revision})`;
  const releases = rollout.spec.releases.length === 0 ? '' : `: ${rollout.spec.releases.map(formatRolloutRelease).join(', ')}`;
  const status = rollout.status ?? {};
  const heldBack = status.waitingFor ? `held back: ${status.waitingFor}` : undefined;
  switch (status.state) {
    case 'Applied':
      return `${where}${releases}: applied`;
    case 'PendingApproval': {
      const who = status.approvers && status.approvers.length > 0 ? ` by ${status.approvers.join(' or ')}` : '';
      return `${where}${releases}: waits for approval${who}${heldBack ? `; ${heldBack}` : ''}; to approve: tug rollout approve ${rollout.metadata.name}${projectFlag(project)}`;
    }
    case 'Waiting':
      return `${where}${releases}: ${heldBack ?? 'held back by the tier its policy requires'}; it rolls out by itself then`;
    case 'Rejected':
      return `${where}${releases}: rejected`;
    case 'Superseded':
      return `${where}${releases}: superseded`;
    default:
      return `${where}${releases}: ${status.state ?? status.phase ?? 'Pending'}`;
  }
}

/** `  updated WorkloadInstance/shop-web-prod-eu`, for the objects an approval changed. */
function changedObjects(results: readonly ApplyItemResult[]): string[] {
  return results.filter((result) => result.action !== 'unchanged').map((result) => `  ${result.action} ${result.kind}/${result.name}`);
}

/**
 * The one Rollout of `application` in `tier` that waits for approval. Several can only be there
 * for a moment (a newer one supersedes the older): the newest is the one to decide.
 */
export async function findPendingRollout(
  client: ApiClient,
  target: { project: string | undefined; application: string; tier: string },
  signal: AbortSignal | undefined,
): Promise<Rollout> {
  const pending: Rollout[] = [];
  const labelSelector = { [APPLICATION_LABELS.application]: target.application, [TIER_LABEL]: target.tier };
  for await (const rollout of client.listAll<Rollout['spec'], Rollout['status']>('Rollout', { project: target.project, labelSelector, signal })) {
    if (rollout.status?.state === 'PendingApproval') pending.push(rollout);
  }
  const newest = pending.sort((a, b) => b.spec.revision - a.spec.revision)[0];
  if (newest === undefined) {
    throw new NotFoundError(
      `no rollout of application ${target.application} waits for approval in tier ${target.tier} (tug rollout history application/${target.application} --tier ${target.tier}${projectFlag(target.project)} shows its rollouts)`,
      { details: [{ path: '--tier', rule: 'pending-rollout' }] },
    );
  }
  return newest;
}

const TARGET_HELP = "a Rollout's name (tug rollout history shows them), or application/NAME with --tier: the rollout of that Application waiting for approval in the tier";

export function registerRolloutCommand(program: Command, context: CommandContext): void {
  const rollout = program
    .command('rollout')
    .description("approve or reject an Application's rollouts, show a tier's rollout history, undo to an earlier release")
    .addHelpText(
      'after',
      `
The API writes a Rollout (application-tier-revision) for every change of an
Application in a tier: applied at once in an automatic tier, PendingApproval in
a tier whose DeliveryPolicy asks for approval, until a person holding one of
its approver roles decides it.

Examples:
  tug rollout history application/shop -p team-a
  tug rollout approve application/shop --tier prod -p team-a -m "release notes checked"
  tug rollout reject shop-prod-7 -p team-a -m "wait for the fix"
  tug rollout undo application/shop --tier prod -p team-a`,
    );

  for (const action of ['approve', 'reject'] as const) {
    rollout
      .command(action)
      .description(action === 'approve' ? 'approve a rollout waiting for approval: it is applied (POST …/approve)' : 'reject a rollout waiting for approval: nothing changes (POST …/reject)')
      .argument('<rollout>', TARGET_HELP)
      .option('-p, --project <project>', "project (default: the context's)")
      .option('--tier <tier>', 'with application/NAME: the tier whose pending rollout to decide')
      .option('-m, --message <text>', 'why, kept with the decision and in the audit trail')
      .addHelpText(
        'after',
        `
Only a holder of one of the roles the tier's DeliveryPolicy names
(approvers.roles) may ${action} (403 otherwise, naming the roles). A rollout
already decided or superseded by a newer one answers 409, naming the newer one${action === 'approve' ? ';\nso does one whose release is not yet Ready in the tier the policy requires' : ''}.

Examples:
  tug rollout ${action} shop-prod-7 -p team-a
  tug rollout ${action} application/shop --tier prod -p team-a -m "${action === 'approve' ? 'checked on staging' : 'wait for the fix'}"`,
      )
      .action(async (text: string, flags: DecideFlags, command: Command) => {
        const { client, project, target } = await connectToTarget(context, command, { text, project: flags.project, bare: 'rollout', action });
        const signal = context.io.signal;
        if ('rollout' in target && flags.tier !== undefined) {
          throw new UsageError(`--tier: only with application/NAME (a rollout's name names its tier already)`, [{ path: '--tier', rule: 'exclusive' }]);
        }
        if ('application' in target && (flags.tier === undefined || flags.tier === '')) {
          throw new UsageError(`--tier is required with application/${target.application}: the tier whose pending rollout to ${action}`, [{ path: '--tier', rule: 'required' }]);
        }
        const name = 'rollout' in target ? target.rollout : (await findPendingRollout(client, { project, application: target.application, tier: flags.tier! }, signal)).metadata.name;
        const ref = { kind: 'Rollout', name, ...(project === undefined ? {} : { project }) };
        const options = { signal, ...(flags.message === undefined ? {} : { message: flags.message }) };
        if (action === 'approve') {
          const answer = await client.approveRollout(ref, options);
          context.out(`${describeRollout(answer.rollout, project, 'approved rollout')}\n`);
          const changed = changedObjects(answer.results ?? []);
          if (changed.length > 0) context.out(`${changed.join('\n')}\n`);
        } else {
          const answer = await client.rejectRollout(ref, options);
          context.out(`${describeRollout(answer.rollout, project, 'rejected rollout')}\n`);
        }
      });
  }

  rollout
    .command('history')
    .description("an Application's rollouts per tier, newest first: state, releases, cause, who decided, when")
    .argument('<application>', 'application/NAME (or NAME)')
    .option('-p, --project <project>', "project (default: the context's)")
    .option('--tier <tier>', 'only this tier')
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .addHelpText(
      'after',
      `
One table per tier: REVISION, STATE (Applied, PendingApproval, Waiting,
Rejected, Superseded), RELEASES (component=release@first 12 hex of the digest;
a component on its definition's own image shows the image), CAUSE (release,
change, undo, clusters), DECIDED BY (who approved or rejected, with the role,
or automatic), AT (the decision's time, else when it was written; UTC).
Rollouts waiting for approval are named on stderr with the command to approve
them. Read from the Rollouts labelled tugboat.dev/application (and
tugboat.dev/tier).

Examples:
  tug rollout history application/shop -p team-a
  tug rollout history application/shop -p team-a --tier prod -o yaml`,
    )
    .action(async (text: string, flags: HistoryFlags, command: Command) => {
      const format = parseOutputFormat(flags.output, ['table', 'yaml', 'json']);
      const { client, project, target } = await connectToTarget(context, command, { text, project: flags.project, bare: 'application', action: 'show the rollouts of' });
      const { application } = target as { application: string };
      const signal = context.io.signal;
      const labelSelector: Record<string, string> = { [APPLICATION_LABELS.application]: application };
      if (flags.tier !== undefined) labelSelector[TIER_LABEL] = flags.tier;
      const rollouts: Rollout[] = [];
      for await (const item of client.listAll<Rollout['spec'], Rollout['status']>('Rollout', { project, labelSelector, signal })) rollouts.push(item);
      const tiers = groupByTier(rollouts);
      if (format !== 'table') {
        context.out(formatDocument({ items: [...tiers.values()].flat() }, format));
        return;
      }
      if (rollouts.length === 0) {
        // None because there is no such Application is an error, not an empty history.
        if ((await client.get({ kind: 'Application', project, name: application }, { signal })) === undefined) {
          throw new NotFoundError(`application ${application} not found in project ${project} (tug get applications -p ${project} lists them)`);
        }
        context.err(`no rollouts of application ${application}${flags.tier === undefined ? '' : ` in tier ${flags.tier}`} yet (a release or a change of the Application writes one per tier)\n`);
        return;
      }
      context.out(
        [...tiers].map(([tier, items]) => `tier ${tier}:\n${formatTable(HISTORY_COLUMNS, items.map(historyRow))}`).join('\n'),
      );
      for (const waiting of rollouts.filter((item) => item.status?.state === 'PendingApproval' || item.status?.state === 'Waiting')) {
        context.err(`${describeRollout(waiting, project)}\n`);
      }
    });

  rollout
    .command('undo')
    .description('go back to the previous release (or --to-release) in a tier, or in every tier the Application runs in (POST …/undo)')
    .argument('<application>', 'application/NAME (or NAME)')
    .option('-p, --project <project>', "project (default: the context's)")
    .option('--tier <tier>', 'only this tier (default: every tier the Application runs in)')
    .option('--to-release <release>', 'back to this Release (a name; tug get releases) instead of the previous one')
    .option('--component <component>', 'only this component')
    .addHelpText(
      'after',
      `
An undo is a new rollout (cause undo) and goes the way any other does: applied
at once in an automatic tier or when you may approve in that tier, otherwise it
waits for approval (the command to approve it is printed). One line per tier.

Examples:
  tug rollout undo application/shop -p team-a --tier prod
  tug rollout undo application/shop -p team-a --tier prod --component web --to-release shop-web-0123456789ab`,
    )
    .action(async (text: string, flags: UndoFlags, command: Command) => {
      const { client, project, target } = await connectToTarget(context, command, { text, project: flags.project, bare: 'application', action: 'undo' });
      const { application } = target as { application: string };
      const ref = { kind: 'Application', name: application, ...(project === undefined ? {} : { project }) };
      const answer = await client.undoApplication(ref, {
        signal: context.io.signal,
        ...(flags.tier === undefined ? {} : { tier: flags.tier }),
        ...(flags.toRelease === undefined ? {} : { release: flags.toRelease }),
        ...(flags.component === undefined ? {} : { component: flags.component }),
      });
      if (answer.rollouts.length === 0) {
        context.err(`nothing to undo: application ${application} already runs what it would go back to\n`);
        return;
      }
      for (const item of answer.rollouts) context.out(`${describeRollout(item, project)}\n`);
    });
}

/**
 * Connects, reads the kinds once, and resolves the argument and the project (`-p`, else the
 * context's): the start of every rollout command. Rollouts and Applications are both project-scoped.
 */
async function connectToTarget(
  context: CommandContext,
  command: Command,
  options: { text: string; project: string | undefined; bare: 'rollout' | 'application'; action: string },
): Promise<{ client: ApiClient; project: string | undefined; target: RolloutTarget }> {
  const { client, settings } = await context.connect(command);
  const kinds = await client.kinds({ signal: context.io.signal });
  const target = parseRolloutTarget(options.text, (name) => resolveKind(kinds, name).kind, options.bare);
  const definition = resolveKind(kinds, 'rollout' in target ? 'Rollout' : 'Application');
  const project = projectFor(definition, options.project ?? settings.project, options.action);
  return { client, project, target };
}
