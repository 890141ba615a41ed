import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';
export const DEFAULT_STATE_DIR = '.state';
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface GlobalFlags {
  server?: string;
  token?: string;
  stateDir?: string;
}

export interface ClientSettings {
  server: string;
  token?: string;
  /** Where the token came from, for messages: `--token`, `TUGBOAT_TOKEN` or a file path. */
  tokenSource?: string;
}

export function resolveStateDir(flags: GlobalFlags, env: Record<string, string | undefined>, cwd: string): string {
  return resolve(cwd, flags.stateDir ?? env.TUGBOAT_STATE_DIR ?? DEFAULT_STATE_DIR);
}

/**
 * Server: `--server`, `TUGBOAT_URL`, else the local default. Token: `--token`, `TUGBOAT_TOKEN`,
 * else the admin token `tug up` saved in the state directory, when there is one.
 */
export async function resolveClientSettings(
  flags: GlobalFlags,
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<ClientSettings> {
  const server = (flags.server ?? env.TUGBOAT_URL ?? DEFAULT_SERVER).replace(/\/+$/, '');
  if (flags.token !== undefined) return { server, token: flags.token, tokenSource: '--token' };
  if (env.TUGBOAT_TOKEN) return { server, token: env.TUGBOAT_TOKEN, tokenSource: 'TUGBOAT_TOKEN' };
  const tokenFile = join(resolveStateDir(flags, env, cwd), ADMIN_TOKEN_FILE);
  try {
    const token = (await readFile(tokenFile, 'utf8')).trim();
    if (token !== '') return { server, token, tokenSource: tokenFile };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { server };
}
