import { createApiClient, type ApiClient } from '@tugboat/api-client';
import type { KindDefinition } from '@tugboat/resource-model';
import type { Command } from 'commander';
import { resolveClientSettings, type ClientSettings, type GlobalFlags } from './client-settings.js';
import { UsageError } from './usage-error.js';

export interface TextSink {
  write(text: string): unknown;
}

/** Where a long-running command (`tug up`) learns that it should stop. */
export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM' | 'exit', listener: () => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM' | 'exit', listener: () => void): unknown;
}

/** Everything `tug` touches outside itself, so tests can run it in-process. */
export interface CliOptions {
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  cwd: string;
  stdin?: AsyncIterable<string | Uint8Array>;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  now?: () => number;
  /** How often `wait` and `delete --wait` poll. Default 1 s. */
  pollIntervalMs?: number;
  /** For `tug up`; defaults to the process. */
  processSignals?: SignalSource;
}

export interface Connection {
  client: ApiClient;
  settings: ClientSettings;
}

/** What every command's action gets: the I/O, the global flags and a lazily built API client. */
export interface CommandContext {
  readonly io: CliOptions;
  /** Set by actions that fail without throwing (e.g. `apply` with some objects rejected). */
  exitCode: number;
  /** Server URL of the last connection, for error messages. */
  serverUrl: string | undefined;
  out(text: string): void;
  err(text: string): void;
  connect(command: Command): Promise<Connection>;
  flags(command: Command): GlobalFlags;
}

export function createCommandContext(io: CliOptions): CommandContext {
  const context: CommandContext = {
    io,
    exitCode: 0,
    serverUrl: undefined,
    out: (text) => void io.stdout.write(text),
    err: (text) => void io.stderr.write(text),
    flags(command) {
      const options = command.optsWithGlobals<GlobalFlags>();
      return { server: options.server, token: options.token, stateDir: options.stateDir };
    },
    async connect(command) {
      const settings = await resolveClientSettings(context.flags(command), io.env, io.cwd);
      context.serverUrl = settings.server;
      try {
        new URL(settings.server);
      } catch {
        throw new UsageError(`--server: "${settings.server}" is not a URL (e.g. http://127.0.0.1:7070)`, [{ path: '--server', rule: 'url' }]);
      }
      const client = createApiClient({
        baseUrl: settings.server,
        ...(settings.token === undefined ? {} : { token: settings.token }),
        ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
        userAgent: 'tug',
      });
      return { client, settings };
    },
  };
  return context;
}

/** Project-scoped kinds need a project to name one object; platform-wide kinds ignore `-p`. */
export function projectFor(definition: KindDefinition, project: string | undefined, action: string): string | undefined {
  if (definition.scope === 'Platform') return undefined;
  if (project === undefined || project === '') {
    throw new UsageError(`-p/--project is required to ${action} a ${definition.kind} (it is project-scoped)`, [
      { path: '--project', rule: 'required' },
    ]);
  }
  return project;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
