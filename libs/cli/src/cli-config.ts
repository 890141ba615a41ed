import { chmod, mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { isDnsLabel } from '@tugboat/resource-model';
import { UsageError } from './usage-error.js';

/** A named connection: which API, with which token, and the project `-p` defaults to. */
export interface CliContext {
  name: string;
  server?: string;
  token?: string;
  project?: string;
}

/** `~/.config/tugboat/config.yaml`: named contexts and the one in use. */
export interface CliConfig {
  currentContext?: string;
  contexts: CliContext[];
}

/** `TUGBOAT_CONFIG`, else `$XDG_CONFIG_HOME/tugboat/config.yaml`, else `~/.config/tugboat/config.yaml`. */
export function configPath(env: Record<string, string | undefined>, cwd: string): string {
  if (env.TUGBOAT_CONFIG) return resolve(cwd, env.TUGBOAT_CONFIG);
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'tugboat', 'config.yaml');
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) throw new UsageError('cannot find the config file: set HOME or TUGBOAT_CONFIG', [{ path: 'TUGBOAT_CONFIG', rule: 'required' }]);
  return join(home, '.config', 'tugboat', 'config.yaml');
}

/** An absent file is an empty config; a malformed one is a usage error naming the file and field. */
export async function readCliConfig(path: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: [] };
    throw error;
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new UsageError(`${path}: not valid YAML: ${(error as Error).message.split('\n')[0]}`, [{ path, rule: 'syntax' }]);
  }
  if (value === null || value === undefined) return { contexts: [] };
  const fail = (field: string, rule: string, message: string): never => {
    throw new UsageError(`${path}: ${field}: ${message}`, [{ path: field, rule }]);
  };
  if (typeof value !== 'object' || Array.isArray(value)) return fail('(document)', 'type', 'must be a map with currentContext and contexts');
  const raw = value as Record<string, unknown>;
  if (raw.currentContext !== undefined && typeof raw.currentContext !== 'string') fail('currentContext', 'type', 'must be a string');
  if (raw.contexts !== undefined && !Array.isArray(raw.contexts)) fail('contexts', 'type', 'must be a list');
  const contexts = ((raw.contexts as unknown[] | undefined) ?? []).map((entry, index): CliContext => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail(`contexts[${index}]`, 'type', 'must be a map');
    const context = entry as Record<string, unknown>;
    for (const field of ['name', 'server', 'token', 'project'] as const) {
      if (context[field] !== undefined && typeof context[field] !== 'string') fail(`contexts[${index}].${field}`, 'type', 'must be a string');
    }
    if (typeof context.name !== 'string' || context.name === '') fail(`contexts[${index}].name`, 'required', 'is required');
    return {
      name: context.name as string,
      ...(context.server === undefined ? {} : { server: context.server as string }),
      ...(context.token === undefined ? {} : { token: context.token as string }),
      ...(context.project === undefined ? {} : { project: context.project as string }),
    };
  });
  return { ...(raw.currentContext === undefined ? {} : { currentContext: raw.currentContext as string }), contexts };
}

/** Written readable by the owner only (it holds tokens), through a rename so a crash leaves the old file. */
export async function writeCliConfig(path: string, config: CliConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const next = `${path}.${process.pid}.tmp`;
  const handle = await open(next, 'w', 0o600);
  try {
    await handle.writeFile(stringify(config));
  } finally {
    await handle.close();
  }
  await chmod(next, 0o600);
  await rename(next, path);
}

export function findContext(config: CliConfig, name: string): CliContext | undefined {
  return config.contexts.find((context) => context.name === name);
}

/** The context named, or a usage error listing the ones there are. */
export function contextOrThrow(config: CliConfig, name: string, path: string, option: string): CliContext {
  const found = findContext(config, name);
  if (found !== undefined) return found;
  const known = config.contexts.map((context) => context.name);
  throw new UsageError(
    `${option}: no context "${name}" in ${path}; ${known.length > 0 ? `there are: ${known.join(', ')}` : 'there are none yet'} ` +
      '(create it with tug config set-context NAME --server URL --token TOKEN)',
    [{ path: option, rule: 'known-context' }],
  );
}

export function checkContextName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new UsageError(`context name "${name}": use letters, digits, ".", "_" and "-" (at most 63)`, [{ path: 'name', rule: 'format' }]);
  }
}

export function checkServerUrl(server: string, option: string): void {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new UsageError(`${option}: "${server}" is not a URL (e.g. http://127.0.0.1:7070)`, [{ path: option, rule: 'url' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${option}: "${server}" must be an http or https URL`, [{ path: option, rule: 'url' }]);
  }
}

export function checkProjectName(project: string, option: string): void {
  if (!isDnsLabel(project)) {
    throw new UsageError(`${option}: "${project}" is not a project name (lower-case letters, digits and "-", at most 63)`, [
      { path: option, rule: 'dns-label' },
    ]);
  }
}
