import { randomBytes } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { isErrorCode } from '@tugboat/resource-model';
import type { TextSink } from '../command-context.js';
import { UsageError } from '../usage-error.js';
import { discoverControllers } from './discover-services.js';
import { findExecutable } from './find-executable.js';
import { assertPortFree, freePort } from './free-port.js';
import { describeExit, startManagedProcess, type ManagedProcess, type ProcessExit } from './managed-process.js';
import { registerLocalCluster } from './register-local-cluster.js';
import { readSandboxHelmSettings } from './sandbox-helm-settings.js';
import { readOrCreateSecretFile, readSecretFile, writeSecretFile } from './secret-file.js';
import { waitReady } from './wait-ready.js';

export interface LocalStackOptions {
  repoRoot: string;
  /** Absolute. Holds the embedded database, the NATS store, the sandbox state and the tokens. */
  stateDir: string;
  apiPort: number;
  /** A free port is picked when absent. */
  natsPort?: number;
  /** Default 4566 (the sandbox's own default), so a bundle can name the sandbox as an AWS endpoint. */
  sandboxPort?: number;
  /** How much faster than real time the sandbox runs. Default 30: an EKS cluster in ~20 s, not 10 minutes. */
  sandboxTimeScale?: number;
  /** The environment the children start from (DATABASE_URL is removed: the API embeds Postgres). */
  env: Record<string, string | undefined>;
  /** Where the children's prefixed output and the stack's own lines go. */
  output: TextSink;
  /** Run services from their TypeScript sources (through tsx) rather than from `dist`. */
  fromSource: boolean;
  fetch?: typeof fetch;
  readyTimeoutMs?: number;
  /** Searched after PATH for `nats-server` and `helm`; defaults to the usual bin and sbin directories. */
  executableDirs?: readonly string[];
  /** How long each process may take to stop before it is killed. */
  stopGraceMs?: number;
}

export interface LocalStackUrls {
  api: string;
  sandbox: string;
  nats: string;
  natsMonitor: string;
}

export interface LocalStack {
  readonly processes: readonly ManagedProcess[];
  /** Known once `start` has resolved. */
  readonly urls: LocalStackUrls | undefined;
  readonly controllers: readonly string[];
  readonly adminTokenFile: string;
  /** Starts every process in order and waits for each to be ready; stops the started ones on failure. */
  start(): Promise<LocalStackUrls>;
  /** Resolves with the first process that exits without being asked to. */
  readonly unexpectedExit: Promise<{ process: ManagedProcess; exit: ProcessExit }>;
  /** Controllers first, then the API, then the sandbox and NATS; idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGKILL to every child still running (for a `tug` that is exiting abruptly). */
  killNow(): void;
}

const NATS_PREFIX = 'tugboat';
export const DEFAULT_SANDBOX_PORT = 4566;
/** The local demo simulates AWS and Kubernetes 30× faster than real time: an EKS cluster with its node group is Ready in about half a minute. */
export const DEFAULT_SANDBOX_TIME_SCALE = 30;

/** The helm the controllers will run: TUGBOAT_HELM_BINARY (a path, or a name looked up as `helm` is) or `helm`. */
async function findHelm(env: Record<string, string | undefined>, extraDirs: readonly string[] | undefined): Promise<string | undefined> {
  const asked = env.TUGBOAT_HELM_BINARY || 'helm';
  if (!asked.includes('/')) return findExecutable(asked, env, extraDirs);
  try {
    await access(asked, constants.X_OK);
    return asked;
  } catch {
    return undefined;
  }
}

export function createLocalStack(options: LocalStackOptions): LocalStack {
  const processes: ManagedProcess[] = [];
  const stages: ManagedProcess[][] = [];
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const stopGraceMs = options.stopGraceMs ?? 15_000;
  const adminTokenFile = join(options.stateDir, 'admin-token');
  const startup = new AbortController();
  let stopping: Promise<void> | undefined;
  let urls: LocalStackUrls | undefined;
  let controllers: string[] = [];
  let reportExit: (value: { process: ManagedProcess; exit: ProcessExit }) => void = () => {};
  const unexpectedExit = new Promise<{ process: ManagedProcess; exit: ProcessExit }>((resolve) => {
    reportExit = resolve;
  });
  const say = (line: string) => options.output.write(`${'tug'.padEnd(labelWidth)} | ${line}\n`);
  let labelWidth = 'sandbox'.length;

  function launch(
    stage: ManagedProcess[],
    name: string,
    command: string,
    args: string[],
    env: Record<string, string | undefined>,
    cwd: string,
    stopSignal?: NodeJS.Signals,
  ): ManagedProcess {
    if (stopping !== undefined) throw new Error('tug up is stopping');
    const child = startManagedProcess({
      name,
      command,
      args,
      cwd,
      env,
      output: options.output,
      labelWidth,
      ...(stopSignal ? { stopSignal } : {}),
    });
    processes.push(child);
    stage.push(child);
    say(`started ${name} (pid ${child.pid})`);
    void child.exited.then((exit) => {
      if (stopping === undefined) reportExit({ process: child, exit });
    });
    return child;
  }

  async function serviceCommand(name: string): Promise<{ command: string; args: string[]; cwd: string }> {
    const dir = join(options.repoRoot, 'services', name);
    if (options.fromSource) {
      const tsx = createRequire(join(options.repoRoot, 'package.json')).resolve('tsx');
      return {
        command: process.execPath,
        args: ['--conditions=@tugboat/source', '--import', pathToFileURL(tsx).href, join(dir, 'src', 'main.ts')],
        cwd: dir,
      };
    }
    const entry = join(dir, 'dist', 'main.js');
    try {
      await access(entry);
    } catch {
      throw new UsageError(`services/${name} is not built (${entry} is missing): run \`pnpm build\` first`, [{ path: name, rule: 'built' }]);
    }
    return { command: process.execPath, args: [entry], cwd: dir };
  }

  function baseEnv(): Record<string, string | undefined> {
    const env = { ...options.env };
    delete env.DATABASE_URL;
    delete env.DATABASE_SCHEMA;
    delete env.TUGBOAT_TOKEN;
    return env;
  }

  async function ready(child: ManagedProcess, url: string): Promise<void> {
    await waitReady({
      url,
      process: child,
      timeoutMs: readyTimeoutMs,
      signal: startup.signal,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    say(`${child.name} is ready`);
  }

  async function controllerToken(admin: ApiClient, name: string): Promise<string> {
    const file = join(options.stateDir, 'tokens', name);
    const saved = await readSecretFile(file);
    if (saved !== undefined) {
      const client = createApiClient({ baseUrl: admin.baseUrl, token: saved, ...(options.fetch ? { fetch: options.fetch } : {}) });
      try {
        const identity = await client.whoami();
        if (identity.type === 'controller' && identity.controller === name) return saved;
      } catch (error) {
        if (!isErrorCode(error, 'Unauthenticated')) throw error;
      }
    }
    // Tokens are stored hashed: a lost token file means a new token, not a recovered one. Token
    // names are unique, so the new one takes a suffix when the controller's name is taken.
    let created;
    try {
      created = await admin.createToken({ name, type: 'controller', controller: name });
    } catch (error) {
      if (!isErrorCode(error, 'Conflict')) throw error;
      created = await admin.createToken({ name: `${name.slice(0, 54)}-${randomBytes(4).toString('hex')}`, type: 'controller', controller: name });
    }
    await writeSecretFile(file, created.token);
    return created.token;
  }

  async function start(): Promise<LocalStackUrls> {
    const natsServer = await findExecutable('nats-server', options.env, options.executableDirs);
    if (natsServer === undefined) {
      throw new UsageError(
        'nats-server is not installed: install it (`apt-get install nats-server` on Debian/Ubuntu, ' +
          '`brew install nats-server` on macOS, or a release from https://github.com/nats-io/nats-server/releases) and run `tug up` again',
        [{ path: 'nats-server', rule: 'installed' }],
      );
    }
    // Only Helm-chart workloads and exposures need helm: without it the stack still runs, and those
    // objects say ChartHelmMissing. Found here, the controllers get its path, so a helm outside
    // their PATH (in /usr/local/bin, say) is the one they run.
    const helm = await findHelm(options.env, options.executableDirs);
    if (helm === undefined) {
      const asked = options.env.TUGBOAT_HELM_BINARY;
      say(
        asked
          ? `warning: TUGBOAT_HELM_BINARY=${asked} is not an executable: Helm-chart workloads and exposed apps will report ChartHelmMissing`
          : 'warning: helm is not installed: Helm-chart workloads and exposed apps will report ChartHelmMissing until it is (install helm 3, or set TUGBOAT_HELM_BINARY)',
      );
    }
    await assertPortFree(options.apiPort, '--port');
    if (options.natsPort !== undefined) await assertPortFree(options.natsPort, '--nats-port');
    const sandboxPort = options.sandboxPort ?? DEFAULT_SANDBOX_PORT;
    await assertPortFree(sandboxPort, '--sandbox-port');
    controllers = await discoverControllers(options.repoRoot);
    labelWidth = Math.max(labelWidth, ...controllers.map((name) => name.length));
    const adminToken = (await readOrCreateSecretFile(adminTokenFile)).value;

    const natsPort = options.natsPort ?? (await freePort());
    const natsMonitorPort = await freePort();
    const planned: LocalStackUrls = {
      api: `http://127.0.0.1:${options.apiPort}`,
      sandbox: `http://127.0.0.1:${sandboxPort}`,
      nats: `nats://127.0.0.1:${natsPort}`,
      natsMonitor: `http://127.0.0.1:${natsMonitorPort}`,
    };

    const infrastructure: ManagedProcess[] = [];
    const apiStage: ManagedProcess[] = [];
    const controllerStage: ManagedProcess[] = [];
    stages.push(infrastructure, apiStage, controllerStage);
    try {
      const nats = launch(
        infrastructure,
        'nats',
        natsServer,
        ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-m', String(natsMonitorPort), '-sd', join(options.stateDir, 'nats'), '-n', 'tugboat-local'],
        baseEnv(),
        options.stateDir,
        'SIGINT', // nats-server exits 0 on SIGINT, 1 on SIGTERM; both shut down cleanly
      );
      const sandboxCommand = await serviceCommand('sandbox');
      const sandbox = launch(
        infrastructure,
        'sandbox',
        sandboxCommand.command,
        [...sandboxCommand.args, '--port', String(sandboxPort), '--state-dir', join(options.stateDir, 'sandbox'), '--time-scale', String(options.sandboxTimeScale ?? DEFAULT_SANDBOX_TIME_SCALE)],
        { ...baseEnv(), PORT: String(sandboxPort) },
        sandboxCommand.cwd,
      );
      await Promise.all([ready(nats, `${planned.natsMonitor}/healthz`), ready(sandbox, `${planned.sandbox}/_sandbox/healthz`)]);
      // Charts are fetched from the sandbox's stand-ins under their real repository URLs: no network needed.
      const helmSettings = await readSandboxHelmSettings({
        sandboxUrl: planned.sandbox,
        signal: startup.signal,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });

      const apiCommand = await serviceCommand('api');
      const api = launch(
        apiStage,
        'api',
        apiCommand.command,
        apiCommand.args,
        {
          ...baseEnv(),
          PORT: String(options.apiPort),
          // Only this machine: the local API runs with a platform admin token in .state/.
          HOST: '127.0.0.1',
          NATS_URL: planned.nats,
          TUGBOAT_NATS_PREFIX: NATS_PREFIX,
          TUGBOAT_ADMIN_TOKEN: adminToken,
          TUGBOAT_STATE_DIR: options.stateDir,
        },
        apiCommand.cwd,
      );
      await ready(api, `${planned.api}/readyz`);

      const admin = createApiClient({ baseUrl: planned.api, token: adminToken, ...(options.fetch ? { fetch: options.fetch } : {}) });
      const started: Array<{ child: ManagedProcess; port: number }> = [];
      for (const name of controllers) {
        const token = await controllerToken(admin, name);
        const port = await freePort();
        const command = await serviceCommand(name);
        const child = launch(
          controllerStage,
          name,
          command.command,
          command.args,
          {
            ...baseEnv(),
            PORT: String(port),
            TUGBOAT_URL: planned.api,
            TUGBOAT_TOKEN: token,
            NATS_URL: planned.nats,
            TUGBOAT_NATS_PREFIX: NATS_PREFIX,
            TUGBOAT_SANDBOX_URL: planned.sandbox,
            AWS_ENDPOINT_URL: planned.sandbox,
            ...helmSettings,
            ...(helm === undefined ? {} : { TUGBOAT_HELM_BINARY: helm }),
            TUGBOAT_STATE_DIR: join(options.stateDir, name),
          },
          command.cwd,
        );
        started.push({ child, port });
      }
      await Promise.all(started.map((entry) => ready(entry.child, `http://127.0.0.1:${entry.port}/readyz`)));

      const registration = await registerLocalCluster({ admin, kubeconfigFile: join(options.stateDir, 'sandbox', 'kubeconfig'), signal: startup.signal });
      if (registration !== undefined) {
        const actions = registration.results.map((result) => `${result.kind} ${result.name} ${result.action}`).join(', ');
        say(
          registration.isDefault
            ? `sandbox cluster registered as the default ClusterInstance local (${actions})`
            : `sandbox cluster registered as ClusterInstance local, not the default: ${registration.notDefaultBecause} (${actions})`,
        );
      }
    } catch (error) {
      await stop('SIGTERM');
      throw error;
    }
    urls = planned;
    return planned;
  }

  function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    stopping ??= (async () => {
      startup.abort();
      for (const stage of [...stages].reverse()) {
        const running = stage.filter((child) => !child.hasExited);
        if (running.length === 0) continue;
        say(`stopping ${running.map((child) => child.name).join(', ')}`);
        const exits = await Promise.all(running.map((child) => child.stop(signal, stopGraceMs)));
        exits.forEach((exit, index) => say(`${running[index]!.name} ${describeExit(exit)}`));
      }
    })();
    return stopping;
  }

  return {
    get processes() {
      return processes;
    },
    get urls() {
      return urls;
    },
    get controllers() {
      return controllers;
    },
    adminTokenFile,
    start,
    unexpectedExit,
    stop,
    killNow() {
      for (const child of processes) child.killNow();
    },
  };
}
