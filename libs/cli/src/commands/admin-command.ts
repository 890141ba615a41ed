import type { SecretKeyStatus } from '@tugboat/api-client';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatTable } from '../format-table.js';

export const KEY_COLUMNS = ['KEY', 'CURRENT', 'VALUES'] as const;

/** The table, then what to do about each key that is not the current one. */
export function describeKeyStatus(status: SecretKeyStatus): { table: string; advice: string[] } {
  const rows = [
    ...status.keys.map((key) => [key.id, key.current ? 'yes' : 'no', String(key.values)]),
    ...status.unknown.map((key) => [key.id, 'unknown', String(key.values)]),
  ];
  const advice: string[] = [];
  for (const key of status.keys) {
    if (key.current) continue;
    advice.push(
      key.values === 0
        ? `key ${key.id} seals no stored value: it can be dropped from TUGBOAT_SECRET_KEYS on every API replica`
        : `key ${key.id} still seals ${key.values} value${key.values === 1 ? '' : 's'}: the API re-seals them with ${status.current} in the background; keep ${key.id} until this shows 0`,
    );
  }
  for (const key of status.unknown) {
    advice.push(`key ${key.id} is not in this replica's TUGBOAT_SECRET_KEYS but seals ${key.values} value${key.values === 1 ? '' : 's'}: add it back, after ${status.current}`);
  }
  return { table: formatTable(KEY_COLUMNS, rows), advice };
}

export function registerAdminCommand(program: Command, context: CommandContext): void {
  const admin = program.command('admin').description('platform administration (platform admin only)');
  const keys = admin.command('keys').description('the keys that encrypt secret fields at rest');
  keys
    .command('status')
    .description('how many stored secret values each key seals, and whether an old key can be dropped')
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .addHelpText(
      'after',
      `
The API seals secret fields with the first key of TUGBOAT_SECRET_KEYS and opens
them with any key listed. After a rotation (a new key first, the old one still
listed) it re-seals old values with the new key in the background; once the old
key shows 0 values it can be removed from TUGBOAT_SECRET_KEYS (docs/operations.md).
Counts are what the answering API replica sees (GET /v1/admin/keys).

Examples:
  tug admin keys status
  tug admin keys status -o json`,
    )
    .action(async (flags: { output: string }, command: Command) => {
      const format = parseOutputFormat(flags.output, ['table', 'yaml', 'json']);
      const { client } = await context.connect(command);
      const status = await client.secretKeyStatus({ signal: context.io.signal });
      if (format !== 'table') {
        context.out(formatDocument(status, format));
        return;
      }
      const { table, advice } = describeKeyStatus(status);
      context.out(table);
      for (const line of advice) context.err(`${line}\n`);
    });
}
