/**
 * Processes for the CLI tests: the real API as a child (its own Postgres schema and NATS prefix),
 * the real `tug` binary run from its sources, and the cleanup both need. Written for the CLI and
 * `tug up` tests; another harness may live beside it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { streamNames } from '@tugboat/resource-model';
import type { ApiClient } from '@tugboat/api-client';
import pg from 'pg';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const NATS_URL = process.env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** `node --conditions=@tugboat/source --import tsx`: TypeScript sources, one process, no build. */
export const NODE_TS = [process.execPath, '--conditions=@tugboat/source', '--import', 'tsx'] as const;

export function uniqueName(what: string): string {
  return `${what}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `probe` until it returns something other than `undefined`, `null` or `false`. */
export async function waitUntil<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A child whose output is kept, and whose exit can be awaited. */
export interface Child {
  process: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(command: string, args: readonly string[], env: Record<string, string | undefined>): Child {
  const child = spawn(command, [...args], { cwd: REPO_ROOT, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { process: child, output: () => output, exited };
}

export async function waitForReady(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  await waitUntil(
    async () => {
      if (exited) throw new Error(`the process exited before ${url} was ready:\n${child.output()}`);
      try {
        const response = await fetch(url);
        await response.arrayBuffer();
        return response.ok;
      } catch {
        return false;
      }
    },
    `${url} (output so far:\n${child.output()})`,
    timeoutMs,
  );
}

export interface ApiProcess {
  url: string;
  adminToken: string;
  schema: string;
  prefix: string;
  /** `TUGBOAT_SECRET_KEYS`: a replica must seal and open with the same keys. */
  secretKeys: string;
  child: Child;
  /** SIGTERM, wait for the exit, drop the schema and the streams (a replica's: only its state). */
  close(): Promise<void>;
}

export interface ApiInstallation {
  schema: string;
  prefix: string;
  adminToken: string;
  /** `TUGBOAT_SECRET_KEYS`; keep it to restart the API on the same data. */
  secretKeys: string;
  stateDir: string;
  port: number;
  natsUrl?: string;
}

/** The environment of an API child on real Postgres and NATS, with its own schema and prefix. */
export function apiProcessEnv(installation: ApiInstallation): Record<string, string> {
  return {
    DATABASE_URL,
    DATABASE_SCHEMA: installation.schema,
    NATS_URL: installation.natsUrl ?? NATS_URL,
    TUGBOAT_NATS_PREFIX: installation.prefix,
    TUGBOAT_ADMIN_TOKEN: installation.adminToken,
    TUGBOAT_SECRET_KEYS: installation.secretKeys,
    TUGBOAT_STATE_DIR: installation.stateDir,
    PORT: String(installation.port),
  };
}

export function newSecretKeys(): string {
  return `k1:${randomBytes(32).toString('base64')}`;
}

/**
 * The real API (`services/api/src/main.ts`) as a child, on real Postgres and NATS, with its own
 * schema and prefix; `env` adds settings (a small stream, a tiny watch buffer …).
 */
export async function startApiProcess(options: { name?: string; env?: Record<string, string>; projects?: readonly string[] } = {}): Promise<ApiProcess> {
  const name = options.name ?? 'cli';
  const schema = uniqueName(`${name}_e2e`);
  const prefix = uniqueName(name);
  const installation = { schema, prefix, adminToken: randomBytes(16).toString('hex'), secretKeys: newSecretKeys() };
  const api = await spawnApi(installation, name, options.env, async () => {
    await dropSchema(schema);
    await deleteStreams(prefix);
  });
  if (options.projects?.length) await createProjects(api, options.projects);
  return api;
}

/** Creates these projects (as the platform admin) unless they exist: a project's objects need it. */
export async function createProjects(api: Pick<ApiProcess, 'url' | 'adminToken'>, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const response = await fetch(`${api.url}/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'Project', metadata: { name }, spec: {} }),
    });
    if (response.status !== 201 && response.status !== 409) throw new Error(`creating project ${name}: ${response.status} ${await response.text()}`);
  }
}

/**
 * A second API process on the same installation as `primary` (schema, prefix, admin token, secret
 * keys): another replica, as production runs them. Its `close()` stops only it; the primary's
 * `close()` drops what they share.
 */
export async function startApiReplica(primary: ApiProcess, options: { env?: Record<string, string> } = {}): Promise<ApiProcess> {
  return spawnApi(primary, 'replica', options.env, async () => undefined);
}

/** One API process on `installation`, ready; its `close()` stops it, then `release()`s what only it owned. */
async function spawnApi(
  installation: Pick<ApiProcess, 'schema' | 'prefix' | 'adminToken' | 'secretKeys'>,
  name: string,
  env: Record<string, string> | undefined,
  release: () => Promise<void>,
): Promise<ApiProcess> {
  const { schema, prefix, adminToken, secretKeys } = installation;
  const port = await freePort();
  const stateDir = await mkdtemp(join(tmpdir(), `${name}-e2e-api-`));
  const child = startChild([...NODE_TS][0]!, [...NODE_TS.slice(1), 'services/api/src/main.ts'], {
    ...process.env,
    ...apiProcessEnv({ schema, prefix, adminToken, secretKeys, stateDir, port }),
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  const api: ApiProcess = {
    url,
    adminToken,
    schema,
    prefix,
    secretKeys,
    child,
    async close() {
      child.process.kill('SIGTERM');
      await child.exited;
      await release();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  try {
    await waitForReady(`${url}/readyz`, child);
  } catch (error) {
    await api.close();
    throw error;
  }
  return api;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Deletes every stream the prefix names (events, resync, dead letters), where it exists. */
export async function deleteStreams(prefix: string, natsUrl = NATS_URL): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const { eventsStream, resyncStream, deadLetterStream } = streamNames(prefix);
    for (const name of [eventsStream, resyncStream, deadLetterStream]) {
      await jsm.streams.delete(name).catch(() => undefined);
    }
  } finally {
    await nc.close();
  }
}

export interface TugResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TugOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
}

/** Runs the real `tug` binary from its sources and collects what it printed. */
export function runTug(args: readonly string[], options: TugOptions = {}): Promise<TugResult> {
  return startTug(args, options).done;
}

/** A running `tug` (e.g. `get -w`): what it printed so far, and a way to stop it as Ctrl-C does. */
export interface RunningTug {
  stdout(): string;
  stderr(): string;
  /** Sends SIGINT. */
  interrupt(): void;
  done: Promise<TugResult>;
}

/**
 * Starts the real `tug` from its sources. The caller's `TUGBOAT_*` variables are dropped, and the
 * config file is `/dev/null` (no contexts) unless the test names one, so a developer's own
 * `~/.config/tugboat` never leaks into a test.
 */
export function startTug(args: readonly string[], options: TugOptions = {}): RunningTug {
  const child = spawn(NODE_TS[0], [...NODE_TS.slice(1), 'libs/cli/src/bin.ts', ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      TUGBOAT_URL: undefined,
      TUGBOAT_TOKEN: undefined,
      TUGBOAT_STATE_DIR: undefined,
      TUGBOAT_CONFIG: '/dev/null',
      ...options.env,
    } as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<TugResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  child.stdin.end(options.stdin ?? '');
  return { stdout: () => stdout, stderr: () => stderr, interrupt: () => void child.kill('SIGINT'), done };
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What `tug up` registers, without the sandbox: the ClusterDefinition and ClusterInstance `local`
 * (provider kubeconfig, the default for every project) that `examples/first-app.yaml` deploys to.
 * The kubeconfig points nowhere: no controller connects to it in these tests.
 */
export async function registerLocalClusterFixture(api: Pick<ApiProcess, 'url' | 'adminToken'>): Promise<void> {
  const response = await fetch(`${api.url}/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      items: [
        { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
        { kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig: 'apiVersion: v1\nkind: Config\n', defaultFor: ['*'] } },
      ],
    }),
  });
  if (!response.ok) throw new Error(`registering the local cluster: ${response.status} ${await response.text()}`);
}

/**
 * What a controller process of a test needs: a fresh controller token (named `<controller>-<n>`),
 * a free health port, and the SDK's environment pointing at `api` and the test's NATS.
 */
export async function controllerProcessEnv(
  api: Pick<ApiProcess, 'url' | 'prefix'>,
  admin: ApiClient,
  controller: string,
  n: number,
): Promise<{ port: number; env: Record<string, string | undefined> }> {
  const token = await admin.createToken({ name: `${controller}-${n}`, type: 'controller', controller });
  const port = await freePort();
  return {
    port,
    env: {
      ...process.env,
      TUGBOAT_URL: api.url,
      TUGBOAT_TOKEN: token.token,
      TUGBOAT_NATS_PREFIX: api.prefix,
      NATS_URL: process.env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
  };
}
