import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { configPath, contextOrThrow, findContext, readCliConfig, type CliContext } from './cli-config.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';
export const DEFAULT_STATE_DIR = '.state';
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface GlobalFlags {
  server?: string;
  token?: string;
  stateDir?: string;
  context?: string;
}

export interface ClientSettings {
  server: string;
  token?: string;
  /** Where the token came from, for messages: `--token`, `TUGBOAT_TOKEN`, `context NAME` or a file path. */
  tokenSource?: string;
  /** The context in use, if any. */
  context?: string;
  /** The project `-p` defaults to (from the context). */
  project?: string;
}

export function resolveStateDir(flags: GlobalFlags, env: Record<string, string | undefined>, cwd: string): string {
  return resolve(cwd, flags.stateDir ?? env.TUGBOAT_STATE_DIR ?? DEFAULT_STATE_DIR);
}

/**
 * Each setting comes from the first of: the flag, the environment (`TUGBOAT_URL`, `TUGBOAT_TOKEN`),
 * the context (`--context NAME`, else the config file's current one), and last the local defaults:
 * `http://127.0.0.1:7070` and the admin token `tug up` saved in the state directory. The local
 * token is not used for a server a context names, so it never travels to another machine.
 */
export async function resolveClientSettings(
  flags: GlobalFlags,
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<ClientSettings> {
  const context = await selectedContext(flags, env, cwd);
  const fromContext = context === undefined ? {} : { context: context.name, ...(context.project ? { project: context.project } : {}) };
  const server = (flags.server ?? (env.TUGBOAT_URL || undefined) ?? context?.server ?? DEFAULT_SERVER).replace(/\/+$/, '');
  if (flags.token !== undefined) return { server, token: flags.token, tokenSource: '--token', ...fromContext };
  if (env.TUGBOAT_TOKEN) return { server, token: env.TUGBOAT_TOKEN, tokenSource: 'TUGBOAT_TOKEN', ...fromContext };
  if (context?.token) return { server, token: context.token, tokenSource: `context ${context.name}`, ...fromContext };
  const serverFromContext = flags.server === undefined && !env.TUGBOAT_URL && context?.server !== undefined;
  if (!serverFromContext) {
    const tokenFile = join(resolveStateDir(flags, env, cwd), ADMIN_TOKEN_FILE);
    try {
      const token = (await readFile(tokenFile, 'utf8')).trim();
      if (token !== '') return { server, token, tokenSource: tokenFile, ...fromContext };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return { server, ...fromContext };
}

async function selectedContext(flags: GlobalFlags, env: Record<string, string | undefined>, cwd: string): Promise<CliContext | undefined> {
  // Without a config file and without --context there is nothing to read (and HOME may be unset).
  if (flags.context === undefined && !env.TUGBOAT_CONFIG && !env.HOME && !env.XDG_CONFIG_HOME && !env.USERPROFILE) return undefined;
  const path = configPath(env, cwd);
  const config = await readCliConfig(path);
  if (flags.context !== undefined) return contextOrThrow(config, flags.context, path, '--context');
  if (config.currentContext === undefined) return undefined;
  return findContext(config, config.currentContext);
}
