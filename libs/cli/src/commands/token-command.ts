import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';

interface TokenCreateFlags {
  controller: string;
}

export function registerTokenCommand(program: Command, context: CommandContext): void {
  const token = program.command('token').description('manage API tokens (platform admin only)');
  token
    .command('create')
    .description('create a token for a controller identity; prints the token alone on stdout, once')
    .argument('<name>', 'the identity name (a DNS label, unique): shown as the actor of what the token does')
    .requiredOption('--controller <controller>', 'the controller this token acts as: it writes the status of that controller\'s kinds and removes its finalizer')
    .addHelpText(
      'after',
      `
The API (POST /v1/tokens) keeps only a hash of the token: it cannot be shown
again, so keep it where the controller reads it (e.g. TUGBOAT_TOKEN). A name
already taken answers 409. Only the platform admin may create tokens.

Examples:
  tug token create deploy-bot --controller deploy-controller
  TUGBOAT_TOKEN=$(tug token create deploy-bot --controller deploy-controller)`,
    )
    .action(async (name: string, flags: TokenCreateFlags, command: Command) => {
      const { client } = await context.connect(command);
      const created = await client.createToken({ name, type: 'controller', controller: flags.controller }, { signal: context.io.signal });
      // stdout holds the token alone, so `$(tug token create …)` captures exactly it.
      context.out(`${created.token}\n`);
      context.err(`token created for ${created.identity.type} "${created.identity.name}" (controller ${created.identity.controller ?? '-'}); it is not shown again\n`);
    });
}
