/**
 * What the benchmarks run against: the real API as its own process on real Postgres (its own
 * schema) and real NATS (its own prefix), an optional controller process, and the cleanup of all
 * of it. Process output goes to files in a temporary directory, so a busy access log costs the
 * benchmark process nothing; the directory is named in any failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { streamNames } from '@tugboat/resource-model';
import { apiProcessEnv, dropSchema, newSecretKeys, freePort, NATS_URL, NODE_TS, REPO_ROOT, uniqueName, waitUntil } from '../harness/cli-processes.js';

export interface BenchProcess {
  child: ChildProcess;
  logFile: string;
  exited: Promise<void>;
  /** The last part of its output, for error messages. */
  tail(): Promise<string>;
}

export interface BenchInstallation {
  apiUrl: string;
  port: number;
  /** `application_name` of the API's database connections. */
  apiApplicationName: string;
  schema: string;
  prefix: string;
  adminToken: string;
  workDir: string;
  api: BenchProcess;
  /** Starts a process from TypeScript sources (with `args` after the script) with its output in `workDir/<name>.log`. */
  spawnTs(name: string, script: string, env: Record<string, string>, nodeArgs?: readonly string[], args?: readonly string[]): BenchProcess;
  /** Starts a built script (`dist/…js`, run by plain node, as deployed) with its output in `workDir/<name>.log`. */
  spawnJs(name: string, script: string, env: Record<string, string>, nodeArgs?: readonly string[], args?: readonly string[]): BenchProcess;
  /** SIGTERM the processes started here, drop the schemas, delete the streams and buckets. */
  close(options: { extraSchemas?: string[]; extraStreams?: string[] }): Promise<void>;
}

export async function startBenchInstallation(options: { apiNodeArgs?: readonly string[] } = {}): Promise<BenchInstallation> {
  const schema = uniqueName('bench');
  const prefix = uniqueName('bench');
  const adminToken = randomBytes(16).toString('hex');
  const port = await freePort();
  const workDir = await mkdtemp(join(tmpdir(), 'tugboat-bench-'));
  const processes: BenchProcess[] = [];
  // A benchmark ended by a signal (Ctrl-C, a runner's SIGTERM) would otherwise leave its API and
  // controller running, loading the shared machine for whatever is measured next.
  const endChildren = (signal: NodeJS.Signals) => {
    for (const started of processes) if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGTERM');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', endChildren);
  process.once('SIGTERM', endChildren);

  function spawnNode(name: string, argv: readonly string[], env: Record<string, string>): BenchProcess {
    const logFile = join(workDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(NODE_TS[0], [...argv], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const started: BenchProcess = {
      child,
      logFile,
      exited,
      async tail() {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        return text.slice(-4000);
      },
    };
    processes.push(started);
    return started;
  }

  function spawnTs(name: string, script: string, env: Record<string, string>, nodeArgs: readonly string[] = [], args: readonly string[] = []): BenchProcess {
    return spawnNode(name, [...nodeArgs, ...NODE_TS.slice(1), script, ...args], env);
  }

  function spawnJs(name: string, script: string, env: Record<string, string>, nodeArgs: readonly string[] = [], args: readonly string[] = []): BenchProcess {
    return spawnNode(name, [...nodeArgs, script, ...args], env);
  }

  // Built, as deployed (`node dist/main.js`): the runner builds first. From sources, tsx's loader
  // would be part of every figure.
  const api = spawnJs(
    'api',
    'services/api/dist/main.js',
    {
      ...apiProcessEnv({ schema, prefix, adminToken, secretKeys: newSecretKeys(), stateDir: workDir, port }),
      // `pg` names its connections after this, so the benchmark can find the API's backends.
      PGAPPNAME: `${schema}-api`,
    },
    options.apiNodeArgs,
  );
  const apiUrl = `http://127.0.0.1:${port}`;

  const installation: BenchInstallation = {
    apiUrl,
    port,
    apiApplicationName: `${schema}-api`,
    schema,
    prefix,
    adminToken,
    workDir,
    api,
    spawnTs,
    spawnJs,
    async close({ extraSchemas = [], extraStreams = [] }) {
      for (const started of processes) if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGTERM');
      await Promise.all(processes.map((started) => started.exited));
      for (const name of [schema, ...extraSchemas]) await dropSchema(name).catch(() => undefined);
      const nc = await connect({ servers: NATS_URL });
      try {
        const jsm = await jetstreamManager(nc);
        const { eventsStream, resyncStream, deadLetterStream } = streamNames(prefix);
        for (const name of [eventsStream, resyncStream, deadLetterStream, ...extraStreams]) await jsm.streams.delete(name).catch(() => undefined);
      } finally {
        await nc.close();
      }
      if (process.env['BENCH_KEEP_LOGS'] === undefined) await rm(workDir, { recursive: true, force: true });
      else console.log(`logs kept in ${workDir}`);
    },
  };

  try {
    await waitHealthy(`${apiUrl}/readyz`, api, 'the API');
  } catch (error) {
    await installation.close({});
    throw error;
  }
  return installation;
}

/** Waits until `url` answers 2xx; fails at once, with its output, when the process exits first. */
export async function waitHealthy(url: string, started: BenchProcess, what: string): Promise<void> {
  await waitUntil(
    async () => {
      if (started.child.exitCode !== null) throw new Error(`${what} exited while starting:\n${await started.tail()}`);
      const response = await fetch(url).catch(() => undefined);
      await response?.arrayBuffer();
      return response?.ok === true;
    },
    `${what} to be ready`,
    60_000,
  );
}
