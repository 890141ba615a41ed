import type { Command } from 'commander';
import type { ApplyItemResult, ApplyResult } from '@tugboat/api-client';
import { isErrorCode, type KindDefinition } from '@tugboat/resource-model';
import { collect, connectWithManifests, type CommandContext } from '../command-context.js';
import { describeError, EXIT_FAILED } from '../describe-error.js';
import { formatFieldChanges } from '../format-diff.js';
import { terminalStyle, type TerminalStyle } from '../terminal-style.js';

interface ApplyFlags {
  filename: string[];
  project?: string;
  dryRun?: boolean;
}

export function registerApplyCommand(program: Command, context: CommandContext): void {
  program
    .command('apply')
    .description('create the objects in YAML or JSON files, or update them where they differ, in one transaction')
    .option('-f, --filename <path>', 'a file, a directory (its .yaml, .yml and .json files) or - for stdin; repeatable', collect, [])
    .option('-p, --project <project>', "project for project-scoped objects whose metadata names none (default: the context's)")
    .option('--dry-run', 'print the plan (what would be created, changed field by field, or blocked) and write nothing')
    .addHelpText(
      'after',
      `
The whole bundle is sent to the API (POST /v1/apply), which applies it in one
transaction, referenced objects first. Each object prints "Kind/name created",
"configured" or "unchanged". If any object is invalid, nothing is written and
every problem is listed (exit code 1).

--dry-run prints the plan: + added, - removed, ~ changed fields (secret values
shown as <redacted>), and why an object would be blocked (exit code 1 if one is).

Examples:
  tug apply -f examples/first-app.yaml
  tug apply -f deploy/ --dry-run
  tug get app web -p team-a -o yaml | tug apply -f -`,
    )
    .action(async (flags: ApplyFlags, command: Command) => {
      const { client, settings, kinds, manifests } = await connectWithManifests(context, command, flags);
      let answer: ApplyResult;
      try {
        answer = await client.apply(
          manifests.map((manifest) => manifest.input),
          { dryRun: flags.dryRun === true, signal: context.io.signal },
        );
      } catch (error) {
        if (!isErrorCode(error, 'InvalidInput') && !isErrorCode(error, 'Conflict')) throw error;
        // The details name each object and field; say that the bundle is all or nothing.
        const report = describeError(error, { serverUrl: settings.server });
        report.lines.push('  hint: the bundle is one transaction, so nothing was applied; fix these and apply again (--dry-run shows the whole plan)');
        context.err(report.lines.join('\n') + '\n');
        context.exitCode = report.exitCode;
        return;
      }
      const style = terminalStyle(context.color);
      if (!answer.dryRun) {
        for (const result of answer.results) context.out(`${shown(result)} ${result.action === 'updated' ? 'configured' : result.action === 'pending' ? `waits for approval (rollout ${result.rollout ?? ''})` : result.action}\n`);
        return;
      }
      context.out(formatPlan(answer.results, kinds, style));
      if (answer.results.some((result) => result.action === 'blocked')) context.exitCode = EXIT_FAILED;
    });
}

function shown(result: ApplyItemResult): string {
  return `${result.kind}/${result.name}`;
}

/** ` once shop-web-dev is gone`, or for a workload moving cluster ` once its replacement shop-web-dev3 is Ready (migrating)`. */
function deletionWait(result: ApplyItemResult): string {
  if (result.migratingTo) return ` once its replacement ${result.migratingTo} is Ready (migrating)`;
  if (!result.waitsFor?.length) return '';
  return ` once ${result.waitsFor.join(', ')} ${result.waitsFor.length > 1 ? 'are' : 'is'} gone`;
}

/** The dry-run plan: one heading per object, its field changes or reasons below, and a summary. */
export function formatPlan(results: readonly ApplyItemResult[], kinds: readonly KindDefinition[], style: TerminalStyle): string {
  const lines: string[] = [];
  const counts = { created: 0, updated: 0, unchanged: 0, blocked: 0, deleted: 0, pending: 0 };
  for (const result of results) {
    counts[result.action]++;
    // An Application's objects: indented under it, with the component and cluster they are for.
    const owned = result.owner !== undefined;
    const where = owned ? ` (${result.component} on ${result.cluster})` : result.project ? ` (project ${result.project})` : '';
    const at = owned ? '  ' : '';
    const secretFields = kinds.find((kind) => kind.kind === result.kind)?.secretFields ?? [];
    switch (result.action) {
      case 'created':
        lines.push(style.green(`${at}+ ${shown(result)}${where} would be created`) + '\n');
        break;
      case 'updated':
        lines.push(style.yellow(`${at}~ ${shown(result)}${where} would be configured:`) + '\n');
        lines.push(formatFieldChanges(result.diff ?? [], { style, secretFields, indent: `${at}    ` }));
        break;
      case 'unchanged':
        lines.push(style.dim(`${at}  ${shown(result)}${where} unchanged`) + '\n');
        break;
      case 'blocked':
        lines.push(style.red(`${at}! ${shown(result)}${where} is blocked:`) + '\n');
        for (const reason of result.reasons ?? []) {
          lines.push(style.red(`${at}    ${reason.path}: ${reason.rule}${reason.message ? ` (${reason.message})` : ''}`) + '\n');
        }
        break;
      case 'pending':
        lines.push(style.yellow(`${at}? ${shown(result)}${where} would be ${result.pendingAction ?? 'changed'} on approval of Rollout ${result.rollout ?? ''}`) + '\n');
        if (result.pendingAction === 'updated') lines.push(formatFieldChanges(result.diff ?? [], { style, secretFields, indent: `${at}    ` }));
        break;
      case 'deleted':
        lines.push(style.red(`${at}- ${shown(result)}${where} would be deleted${deletionWait(result)}`) + '\n');
        break;
    }
  }
  lines.push(
    style.bold(
      `Plan: ${counts.created} to create, ${counts.updated} to change${counts.deleted > 0 ? `, ${counts.deleted} to delete` : ''}${counts.pending > 0 ? `, ${counts.pending} waiting for approval` : ''}, ${counts.unchanged} unchanged` +
        `${counts.blocked > 0 ? `, ${counts.blocked} blocked` : ''}. Dry run: nothing was written.`,
    ) + '\n',
  );
  return lines.join('');
}
