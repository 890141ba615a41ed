import type { Command } from 'commander';
import type { TokenInput, TokenSummary } from '@tugboat/api-client';
import type { CommandContext } from '../command-context.js';
import { formatDocument, parseOutputFormat } from '../format-output.js';
import { formatAge, formatTable } from '../format-table.js';
import { UsageError } from '../usage-error.js';

interface TokenCreateFlags {
  controller?: string;
  user?: string;
  project?: string;
  role?: string;
  expires?: string;
}

interface TokenListFlags {
  output: string;
}

/**
 * `--expires`: a lifetime (`90m`, `12h`, `30d`) or a time (`2027-01-31`, `2027-01-31T12:00:00Z`).
 * The shape is checked here so the error names the flag; the API checks the bounds (a minute to a year).
 */
export function parseTokenExpiry(text: string): Pick<TokenInput, 'expiresIn' | 'expiresAt'> {
  const value = text.trim();
  if (/^\d{1,6}[mhd]$/.test(value)) return { expiresIn: value };
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return { expiresAt: `${value}T00:00:00Z` };
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) return { expiresAt: value };
  throw new UsageError(`--expires: "${text}" is neither a lifetime (90m, 12h, 30d; at most 365d) nor a time (2027-01-31, 2027-01-31T12:00:00Z)`, [
    { path: '--expires', rule: 'duration' },
  ]);
}

/** `in 29d`, `expired 2h ago`, `never`. */
function expiryCell(expiresAt: string | null, now: number): string {
  if (expiresAt === null) return 'never';
  const left = Date.parse(expiresAt) - now;
  return left > 0 ? `in ${formatAge(left)}` : `expired ${formatAge(-left)} ago`;
}

function agoCell(at: string | null, now: number): string {
  return at === null ? '-' : `${formatAge(now - Date.parse(at))} ago`;
}

export const TOKEN_COLUMNS = ['NAME', 'TYPE', 'FOR', 'GRANT', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'] as const;

export function tokenRow(token: TokenSummary, now: number): string[] {
  return [
    token.name,
    token.type,
    // Who it speaks for: the controller, the user, or (a service account) itself.
    token.controller ?? token.user ?? '-',
    token.role === null ? '-' : token.project === null ? token.role : `${token.project}:${token.role}`,
    agoCell(token.createdAt, now),
    token.revokedAt === null ? expiryCell(token.expiresAt, now) : '-',
    // Recorded at most once a minute, so "never" and a minute's precision are what is known.
    token.lastUsedAt === null ? 'never' : agoCell(token.lastUsedAt, now),
    agoCell(token.revokedAt, now),
  ];
}

export function registerTokenCommand(program: Command, context: CommandContext): void {
  const now = () => (context.io.now ?? Date.now)();
  const token = program
    .command('token')
    .description("create, list and revoke API tokens (a platform admin: any; a project's admin: its service accounts)")
    .addHelpText(
      'after',
      `
Examples:
  TUGBOAT_TOKEN=$(tug token create ci-pipeline --project shop --role editor --expires 30d)
  tug token create alice-laptop --user alice
  tug token create ops --role platform-admin --expires 90d
  tug token create deploy-bot --controller deploy-controller
  tug token list
  tug token revoke ci-pipeline`,
    );
  token
    .command('create')
    .description('create a token; prints the token alone on stdout, once')
    .argument('<name>', 'the identity name (a DNS label, unique, never reused): shown as the actor of what the token does')
    .option('--project <project>', 'a service-account token with a role in this project (give --role)')
    .option('--role <role>', 'with --project: viewer, editor, admin or a role the project defines; alone: platform-viewer, platform-editor or platform-admin')
    .option('--user <user>', "a user's token: it holds the roles the projects give that user as a member (default: the token's name)")
    .option('--controller <controller>', "a controller's token: it reads the kinds that controller owns and those they reference, writes their status, finalizers and events")
    .option('--expires <when>', 'a lifetime (90m, 12h, 30d; at most 365d) or a time (2027-01-31, 2027-01-31T12:00:00Z); default: never expires')
    .addHelpText(
      'after',
      `
The API (POST /v1/tokens) keeps only a hash of the token: it cannot be shown
again, so keep it where its user reads it (e.g. TUGBOAT_TOKEN). A name already
taken answers 409, a revoked token's name too (names are not reused, so the
history names one token).

Four kinds of token:
  --project P --role R   a service account (a pipeline) with role R in project P;
                         a project's admin may create these for that project
  --role platform-...    a service account with a platform role (platform admin only)
  --user U               a person's token: the roles of U in every project that
                         names U a member (spec.members), optionally --role too
                         (the default, for the user of the token's name)
  --controller C         a controller's identity (platform admin only)

Examples:
  TUGBOAT_TOKEN=$(tug token create ci-pipeline --project shop --role editor --expires 30d)
  tug token create alice-laptop --user alice --expires 90d
  tug token create deploy-bot --controller deploy-controller`,
    )
    .action(async (name: string, flags: TokenCreateFlags, command: Command) => {
      const expiry = flags.expires === undefined ? {} : parseTokenExpiry(flags.expires);
      const { client } = await context.connect(command);
      if (flags.controller !== undefined && (flags.user !== undefined || flags.project !== undefined || flags.role !== undefined)) {
        throw new UsageError('--controller: a controller token takes no --user, --project or --role (its rights come from the kinds it owns)', [{ path: '--controller', rule: 'exclusive' }]);
      }
      if (flags.project !== undefined && flags.role === undefined) throw new UsageError('--project: give the role too (--role viewer, editor, admin or one the project defines)', [{ path: '--role', rule: 'required' }]);
      const input: TokenInput =
        flags.controller !== undefined
          ? { name, type: 'controller', controller: flags.controller, ...expiry }
          : {
              name,
              // Neither a user nor a role: a person's token, for the user of the token's name.
              type: flags.user !== undefined || flags.role === undefined ? 'user' : 'serviceaccount',
              ...(flags.user !== undefined ? { user: flags.user } : {}),
              ...(flags.project !== undefined ? { project: flags.project } : {}),
              ...(flags.role !== undefined ? { role: flags.role } : {}),
              ...expiry,
            };
      const created = await client.createToken(input, { signal: context.io.signal });
      // stdout holds the token alone, so `$(tug token create …)` captures exactly it.
      context.out(`${created.token}\n`);
      const who =
        created.identity.type === 'controller'
          ? `controller "${created.identity.name}" (controller ${created.identity.controller ?? '-'})`
          : `${created.identity.type === 'user' ? 'user' : 'service account'} "${created.identity.name}"${input.role ? ` with role ${input.project ? `${input.role} in project ${input.project}` : input.role}` : ''}`;
      const expires = created.expiresAt ? `expires ${created.expiresAt}` : 'does not expire';
      context.err(`token created for ${who}; ${expires}; it is not shown again\n`);
    });
  token
    .command('list')
    .description('list the tokens (revoked ones too): who, when created, when they expire, last use, revocation')
    .option('-o, --output <format>', 'table, yaml or json (exact times)', 'table')
    .addHelpText(
      'after',
      `
Never shows a token: the API keeps only hashes. LAST USED is recorded at most
once a minute per token. The bootstrap admin token (TUGBOAT_ADMIN_TOKEN) is not
stored, so it is not listed.

Examples:
  tug token list
  tug token list -o json`,
    )
    .action(async (flags: TokenListFlags, command: Command) => {
      const format = parseOutputFormat(flags.output, ['table', 'yaml', 'json']);
      const { client } = await context.connect(command);
      const tokens = await client.listTokens({ signal: context.io.signal });
      if (format !== 'table') {
        context.out(formatDocument({ items: tokens }, format));
        return;
      }
      if (tokens.length === 0) {
        context.err('no tokens (tug token create NAME makes one)\n');
        return;
      }
      const at = now();
      context.out(formatTable(TOKEN_COLUMNS, tokens.map((t) => tokenRow(t, at))));
    });
  token
    .command('revoke')
    .description('revoke a token: it stops working within a second on every API replica; it stays listed')
    .argument('<name>', 'the token name (tug token list)')
    .addHelpText(
      'after',
      `
A revoked token answers 401 "revoked at …". Revoking it again changes nothing.
Its name is not reused: create the replacement under a new name.

Examples:
  tug token revoke ci-pipeline`,
    )
    .action(async (name: string, _flags: unknown, command: Command) => {
      const { client } = await context.connect(command);
      const revoked = await client.revokeToken(name, { signal: context.io.signal });
      context.out(`token "${revoked.name}" revoked at ${revoked.revokedAt ?? '?'}\n`);
    });
}
