/** The renderer's settings from a process's environment (what `main.ts` of a controller reads). */
import type { HelmRendererOptions } from './helm-renderer.js';
import { parseRepositoryMirrors } from './repository-mirrors.js';

/**
 * `TUGBOAT_HELM_BINARY`, `TUGBOAT_HELM_MIRRORS` (`from=to,…`), `TUGBOAT_HELM_PLAIN_HTTP_HOSTS`
 * (`host:port,…`), `TUGBOAT_HELM_CACHE_DIR`, `TUGBOAT_HELM_TIMEOUT_MS`. Unset or empty variables
 * leave the renderer's defaults; a malformed one is an error naming the variable.
 */
export function helmSettingsFromEnv(env: NodeJS.ProcessEnv): HelmRendererOptions {
  const settings: HelmRendererOptions = {};
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const binary = value('TUGBOAT_HELM_BINARY');
  if (binary !== undefined) settings.helmBinary = binary;
  const mirrors = value('TUGBOAT_HELM_MIRRORS');
  if (mirrors !== undefined) {
    try {
      settings.mirrors = parseRepositoryMirrors(mirrors);
    } catch (error) {
      throw new Error(`TUGBOAT_HELM_MIRRORS: ${(error as Error).message}`, { cause: error });
    }
  }
  const plainHttp = value('TUGBOAT_HELM_PLAIN_HTTP_HOSTS');
  if (plainHttp !== undefined) settings.plainHttpHosts = plainHttp.split(',').map((host) => host.trim()).filter((host) => host !== '');
  const cacheDir = value('TUGBOAT_HELM_CACHE_DIR');
  if (cacheDir !== undefined) settings.cacheDir = cacheDir;
  const timeout = value('TUGBOAT_HELM_TIMEOUT_MS');
  if (timeout !== undefined) {
    const ms = Number(timeout);
    if (!Number.isInteger(ms) || ms <= 0) throw new Error(`TUGBOAT_HELM_TIMEOUT_MS: "${timeout}" is not a positive whole number of milliseconds`);
    settings.timeoutMs = ms;
  }
  return settings;
}
