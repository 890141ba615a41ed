import { createApiClient, type ApiClient, type ObjectRef } from '@tugboat/api-client';
import type { KindDefinition } from '@tugboat/resource-model';
import type { Command } from 'commander';
import { resolveClientSettings, type ClientSettings, type GlobalFlags } from './client-settings.js';
import { orderManifests } from './order-manifests.js';
import { readManifestDocuments, toManifest, type Manifest } from './read-manifests.js';
import { resolveKind } from './resolve-kind.js';
import { UsageError } from './usage-error.js';

export interface TextSink {
  write(text: string): unknown;
  /** A terminal: colours, and progress lines rewritten in place. */
  isTTY?: boolean;
  /** The terminal's width, when known: a line rewritten in place must not wrap. */
  columns?: number;
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
  /** stdin is a terminal: what is typed there is echoed (`tug secret set --from-stdin` says so). */
  stdinIsTTY?: boolean;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  now?: () => number;
  /** How often `wait` and `delete --wait` poll an API without a watch, and how long `get -w` pauses before resuming a watch. Default 1 s. */
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
  /** Colour stdout: a terminal without `NO_COLOR`, or `FORCE_COLOR` set. */
  readonly color: boolean;
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
      return { server: options.server, token: options.token, stateDir: options.stateDir, context: options.context };
    },
    color: wantsColor(io),
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

function wantsColor(io: CliOptions): boolean {
  if (io.env.NO_COLOR) return false;
  if (io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== '0') return true;
  return io.stdout.isTTY === true && io.env.TERM !== 'dumb';
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

/** What a command about one object needs: the client, the kind, and the object's reference. */
export interface ObjectTarget extends Connection {
  /** Every kind the API knows (read once for the resolution). */
  kinds: KindDefinition[];
  definition: KindDefinition;
  project: string | undefined;
  ref: ObjectRef;
  /** `Kind/name`, as output names the object. */
  shown: string;
}

/**
 * Connects, resolves the kind by any of its names and the project (`-p`, else the context's
 * project): the common start of `describe`, `delete`, `wait`, `history`, `suspend` and the others.
 */
export async function connectToObject(
  context: CommandContext,
  command: Command,
  target: { kind: string; name: string; project: string | undefined; action: string },
): Promise<ObjectTarget> {
  const connection = await context.connect(command);
  const kinds = await connection.client.kinds({ signal: context.io.signal });
  const definition = resolveKind(kinds, target.kind);
  const project = projectFor(definition, target.project ?? connection.settings.project, target.action);
  const ref: ObjectRef = { kind: definition.kind, name: target.name, ...(project === undefined ? {} : { project }) };
  return { ...connection, kinds, definition, project, ref, shown: `${definition.kind}/${target.name}` };
}

/**
 * Reads `-f` files, directories or stdin, connects, and returns the manifests in apply's order
 * (what others reference, and owners, first): the common start of `apply` and `delete -f`.
 */
export async function connectWithManifests(
  context: CommandContext,
  command: Command,
  flags: { filename: string[]; project?: string | undefined },
): Promise<Connection & { kinds: KindDefinition[]; manifests: Manifest[] }> {
  const documents = await readManifestDocuments({
    paths: flags.filename,
    cwd: context.io.cwd,
    ...(context.io.stdin === undefined ? {} : { stdin: context.io.stdin }),
  });
  const connection = await context.connect(command);
  const kinds = await connection.client.kinds({ signal: context.io.signal });
  const manifests = orderManifests(
    documents.map((document) => toManifest(document, kinds, flags.project ?? connection.settings.project)),
    kinds,
  );
  return { ...connection, kinds, manifests };
}

/** `-p`, else the context's project, for lists of a project-scoped kind; platform-wide kinds have none. */
export function listProject(definition: KindDefinition, flag: string | undefined, settings: ClientSettings): string | undefined {
  if (definition.scope === 'Platform') return undefined;
  return flag ?? settings.project;
}
