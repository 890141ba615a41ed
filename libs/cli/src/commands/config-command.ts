import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import {
  checkContextName,
  checkProjectName,
  checkServerUrl,
  configPath,
  contextOrThrow,
  readCliConfig,
  writeCliConfig,
  type CliContext,
} from '../cli-config.js';
import { formatTable } from '../format-table.js';

interface SetContextFlags {
  server?: string;
  token?: string;
  project?: string;
  use?: boolean;
}

export function registerConfigCommand(program: Command, context: CommandContext): void {
  const config = program
    .command('config')
    .description('named contexts (server, token, default project) in the config file')
    .addHelpText(
      'after',
      `
The file is TUGBOAT_CONFIG, else ~/.config/tugboat/config.yaml (mode 0600: it
holds tokens). Each setting comes from the first of: the flag (--server,
--token, -p), the environment (TUGBOAT_URL, TUGBOAT_TOKEN), the context
(--context NAME, else the current one), and last the local defaults
(http://127.0.0.1:7070 and the admin token \`tug up\` keeps in .state).

Examples:
  tug config set-context prod --server https://tugboat.example.com --token tug_… --project team-a --use
  tug config get-contexts
  tug config use-context local`,
    );
  const path = () => configPath(context.io.env, context.io.cwd);

  config
    .command('get-contexts')
    .description('list the contexts; * marks the current one (tokens are never shown)')
    .action(async () => {
      const file = path();
      const current = await readCliConfig(file);
      if (current.contexts.length === 0) {
        context.err(`No contexts in ${file}; add one with tug config set-context NAME --server URL --token TOKEN.\n`);
        return;
      }
      const rows = current.contexts.map((entry) => [
        entry.name === current.currentContext ? '*' : '',
        entry.name,
        entry.server ?? '-',
        entry.project ?? '-',
        entry.token ? 'set' : '-',
      ]);
      context.out(formatTable(['CURRENT', 'NAME', 'SERVER', 'PROJECT', 'TOKEN'], rows));
    });

  config
    .command('current-context')
    .description('print the name of the current context')
    .action(async () => {
      const file = path();
      const current = await readCliConfig(file);
      if (current.currentContext === undefined) {
        context.err(`error: no current context in ${file} (choose one with tug config use-context NAME)\n`);
        context.exitCode = 1;
        return;
      }
      context.out(`${current.currentContext}\n`);
    });

  config
    .command('use-context')
    .description('make a context the current one')
    .argument('<name>', 'a context from tug config get-contexts')
    .action(async (name: string) => {
      const file = path();
      const current = await readCliConfig(file);
      contextOrThrow(current, name, file, 'use-context');
      await writeCliConfig(file, { ...current, currentContext: name });
      context.out(`Switched to context "${name}".\n`);
    });

  config
    .command('set-context')
    .description('create a context, or change the settings given for an existing one')
    .argument('<name>', 'context name')
    .option('--server <url>', 'API URL')
    .option('--token <token>', 'bearer token (stored in the file, mode 0600)')
    .option('-p, --project <project>', 'the project -p defaults to')
    .option('--use', 'also make it the current context')
    .action(async (name: string, _flags: SetContextFlags, command: Command) => {
      // `--server` and `--token` are also global options: read them wherever they were written.
      const flags = command.optsWithGlobals<SetContextFlags>();
      checkContextName(name);
      if (flags.server !== undefined) checkServerUrl(flags.server, '--server');
      if (flags.project !== undefined) checkProjectName(flags.project, '--project');
      const file = path();
      const current = await readCliConfig(file);
      const existing = current.contexts.find((entry) => entry.name === name);
      const updated: CliContext = {
        ...existing,
        name,
        ...(flags.server === undefined ? {} : { server: flags.server.replace(/\/+$/, '') }),
        ...(flags.token === undefined ? {} : { token: flags.token }),
        ...(flags.project === undefined ? {} : { project: flags.project }),
      };
      const contexts = existing === undefined ? [...current.contexts, updated] : current.contexts.map((entry) => (entry === existing ? updated : entry));
      const currentContext = flags.use || current.currentContext === undefined ? name : current.currentContext;
      await writeCliConfig(file, { currentContext, contexts });
      context.out(`Context "${name}" ${existing === undefined ? 'created' : 'updated'}${currentContext === name ? ' (current)' : ''}.\n`);
    });

  config
    .command('delete-context')
    .description('remove a context')
    .argument('<name>', 'context name')
    .action(async (name: string) => {
      const file = path();
      const current = await readCliConfig(file);
      contextOrThrow(current, name, file, 'delete-context');
      const contexts = current.contexts.filter((entry) => entry.name !== name);
      await writeCliConfig(file, {
        ...(current.currentContext === undefined || current.currentContext === name ? {} : { currentContext: current.currentContext }),
        contexts,
      });
      context.out(`Context "${name}" deleted.\n`);
    });
}
