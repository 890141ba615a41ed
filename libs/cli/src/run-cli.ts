import { Command, CommanderError } from 'commander';
import { registerAdminCommand } from './commands/admin-command.js';
import { registerApplyCommand } from './commands/apply-command.js';
import { registerAuditCommand } from './commands/audit-command.js';
import { registerConfigCommand } from './commands/config-command.js';
import { registerDeleteCommand } from './commands/delete-command.js';
import { registerDescribeCommand } from './commands/describe-command.js';
import { registerEventsCommand } from './commands/events-command.js';
import { registerGetCommand } from './commands/get-command.js';
import { registerHistoryCommand } from './commands/history-command.js';
import { registerKindsCommand } from './commands/kinds-command.js';
import { registerOperatorCommands } from './commands/operator-commands.js';
import { registerReleaseCommand } from './commands/release-command.js';
import { registerRolloutCommand } from './commands/rollout-command.js';
import { registerSecretCommand } from './commands/secret-command.js';
import { registerTokenCommand } from './commands/token-command.js';
import { registerUpCommand } from './commands/up-command.js';
import { registerWaitCommand } from './commands/wait-command.js';
import { createCommandContext, type CliOptions } from './command-context.js';
import { DEFAULT_SERVER } from './client-settings.js';
import { describeError, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './describe-error.js';

/**
 * Runs one `tug` invocation and resolves to its exit code. Everything it touches comes in through
 * `options`, so tests drive it in-process and `bin.ts` only wires the real process to it.
 */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  const context = createCommandContext(options);
  const program = new Command('tug')
    .description('Tugboat command line: apply, inspect, follow and delete objects; run Tugboat locally (tug up)')
    .option('--server <url>', `API URL (env TUGBOAT_URL; else the context's; default ${DEFAULT_SERVER})`)
    .option('--token <token>', "bearer token (env TUGBOAT_TOKEN; else the context's; else the admin token `tug up` saved in the state directory)")
    .option('--context <name>', 'use this context of the config file instead of the current one (see tug config)')
    .option('--state-dir <dir>', 'local state directory of `tug up` (env TUGBOAT_STATE_DIR; default .state)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.out(text),
      writeErr: (text) => context.err(text),
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)');

  registerApplyCommand(program, context);
  registerGetCommand(program, context);
  registerDescribeCommand(program, context);
  registerDeleteCommand(program, context);
  registerWaitCommand(program, context);
  registerEventsCommand(program, context);
  registerHistoryCommand(program, context);
  registerKindsCommand(program, context);
  registerOperatorCommands(program, context);
  registerReleaseCommand(program, context);
  registerRolloutCommand(program, context);
  registerConfigCommand(program, context);
  registerSecretCommand(program, context);
  registerTokenCommand(program, context);
  registerAdminCommand(program, context);
  registerAuditCommand(program, context);
  registerUpCommand(program, context);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the message (or the help).
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
    }
    // Ctrl-C: the command was stopped on purpose, not refused; say nothing more.
    if (options.signal?.aborted) return EXIT_INTERRUPTED;
    const report = describeError(error, { serverUrl: context.serverUrl ?? DEFAULT_SERVER });
    context.err(report.lines.join('\n') + '\n');
    return report.exitCode;
  }
}
