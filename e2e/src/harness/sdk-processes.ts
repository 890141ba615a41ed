/**
 * Processes for the controller SDK proof: the real API (restartable on the same schema, port and
 * keys, optionally with a kill point), replicas of the proof controller, a private nats-server that
 * can be restarted, and the reading of the reconcile log they all write.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { streamNames } from '@tugboat/resource-model';
import { apiProcessEnv, dropSchema, newSecretKeys, freePort, NODE_TS, startChild, uniqueName, waitForReady, waitUntil, type Child } from './cli-processes.js';

export const PROOF_CONTROLLER = 'proof-controller';
export const PROOF_KIND = 'ProofWidget';
export const PROOF_PROJECT = 'proof';

export interface ProofInstallation {
  natsUrl: string;
  prefix: string;
  schema: string;
  apiUrl: string;
  adminToken: string;
  admin: ApiClient;
  controllerToken: string;
  logDir: string;
  api: Child | undefined;
  /** Starts (or restarts) the API on the same schema, port and keys; `env` adds e.g. a kill point. */
  startApi(env?: Record<string, string>): Promise<Child>;
  /** Starts a replica of the proof controller; it logs to its own file in `logDir`. */
  startReplica(replica: string, env?: Record<string, string>): Promise<Child>;
  replicas: Map<string, Child>;
  /** SIGTERM everything, drop the schema, delete the streams and the lease bucket. */
  close(): Promise<void>;
}

/** API + kind + controller token; replicas are started by the test. */
export async function createProofInstallation(options: { natsUrl: string }): Promise<ProofInstallation> {
  const schema = uniqueName('sdk_proof');
  const prefix = uniqueName('sdk');
  const adminToken = randomBytes(16).toString('hex');
  const secretKeys = newSecretKeys();
  const port = await freePort();
  const stateDir = await mkdtemp(join(tmpdir(), 'sdk-proof-api-'));
  const logDir = await mkdtemp(join(tmpdir(), 'sdk-proof-log-'));
  const apiUrl = `http://127.0.0.1:${port}`;
  const admin = createApiClient({ baseUrl: apiUrl, token: adminToken });
  let launches = 0;

  const installation: ProofInstallation = {
    natsUrl: options.natsUrl,
    prefix,
    schema,
    apiUrl,
    adminToken,
    admin,
    controllerToken: '',
    logDir,
    api: undefined,
    replicas: new Map(),

    async startApi(env = {}) {
      const child = startChild(NODE_TS[0], [...NODE_TS.slice(1), 'services/api/src/main.ts'], {
        ...process.env,
        ...apiProcessEnv({ schema, prefix, adminToken, secretKeys, stateDir, port, natsUrl: options.natsUrl }),
        ...env,
      });
      installation.api = child;
      await waitForReady(`${apiUrl}/readyz`, child);
      return child;
    },

    async startReplica(replica, env = {}) {
      launches += 1;
      const child = startChild(NODE_TS[0], [...NODE_TS.slice(1), 'e2e/src/fixtures/proof-controller.ts'], {
        ...process.env,
        TUGBOAT_URL: apiUrl,
        PORT: '', // replicas serve no health port unless a test asks (HEALTH_PORT)
        TUGBOAT_TOKEN: installation.controllerToken,
        NATS_URL: options.natsUrl,
        TUGBOAT_NATS_PREFIX: prefix,
        REPLICA_ID: replica,
        RECONCILE_LOG: join(logDir, `${replica}-${launches}.jsonl`),
        LOG_LEVEL: 'warn',
        ...env,
      });
      installation.replicas.set(replica, child);
      const logFile = join(logDir, `${replica}-${launches}.jsonl`);
      await waitUntil(
        async () => {
          if (child.process.exitCode !== null || child.process.signalCode !== null) {
            throw new Error(`replica ${replica} exited while starting:\n${child.output()}`);
          }
          return (await readFile(logFile, 'utf8').catch(() => '')).includes('"type":"ready"');
        },
        `replica ${replica} ready`,
        30_000,
      );
      return child;
    },

    async close() {
      const children = [installation.api, ...installation.replicas.values()].filter((c): c is Child => c !== undefined);
      for (const child of children) {
        if (child.process.exitCode === null && child.process.signalCode === null) {
          child.process.kill('SIGCONT');
          child.process.kill('SIGTERM');
        }
      }
      await Promise.all(children.map((child) => child.exited));
      await dropSchema(schema).catch(() => undefined);
      await deleteProofStreams(prefix, options.natsUrl).catch(() => undefined);
      await rm(stateDir, { recursive: true, force: true });
      if (process.env['KEEP_PROOF_LOGS'] === undefined) await rm(logDir, { recursive: true, force: true });
    },
  };

  await installation.startApi();
  await admin.registerKind({
    kind: PROOF_KIND,
    plural: 'proofwidgets',
    singular: 'proofwidget',
    shortNames: ['pw'],
    scope: 'Project',
    controller: PROOF_CONTROLLER,
    schema: { type: 'object', properties: { size: { type: 'integer', minimum: 0 } }, required: ['size'], additionalProperties: false },
    references: [],
    secretFields: [],
  });
  await admin.create({ kind: 'Project', metadata: { name: PROOF_PROJECT }, spec: {} });
  const { token } = await admin.createToken({ name: PROOF_CONTROLLER, type: 'controller', controller: PROOF_CONTROLLER });
  installation.controllerToken = token;
  return installation;
}

async function deleteProofStreams(prefix: string, natsUrl: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const { eventsStream, resyncStream, deadLetterStream } = streamNames(prefix);
    const bucket = `KV_${eventsStream.replace(/_EVENTS$/, '')}_LEASES_${PROOF_CONTROLLER}`;
    for (const name of [eventsStream, resyncStream, deadLetterStream, bucket]) await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** A private JetStream server the test may stop and start again on the same port and store. */
export interface PrivateNats {
  url: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), 'sdk-proof-nats-'));
  let child: Child | undefined;
  const url = `nats://127.0.0.1:${port}`;
  const nats: PrivateNats = {
    url,
    async start() {
      const bin = process.env['NATS_SERVER_BIN'] ?? 'nats-server';
      const path = `${process.env['PATH'] ?? ''}:/usr/sbin:/usr/local/sbin`;
      child = startChild(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { ...process.env, PATH: path });
      await waitUntil(
        async () => {
          if (child!.process.exitCode !== null) throw new Error(`nats-server exited:\n${child!.output()}`);
          return child!.output().includes('Server is ready');
        },
        'nats-server ready',
        15_000,
      );
    },
    async stop(signal = 'SIGKILL') {
      if (child === undefined) return;
      child.process.kill(signal);
      await child.exited;
      child = undefined;
    },
    async close() {
      await nats.stop('SIGTERM');
      await rm(storeDir, { recursive: true, force: true });
    },
  };
  await nats.start();
  return nats;
}

/** One line of a proof controller's log. */
export interface ProofLogLine {
  type: 'start' | 'write' | 'reconcile' | 'kill' | 'pause' | 'ready';
  replica: string;
  pid: number;
  object?: string;
  at?: number;
  start?: number;
  end?: number;
  outcome?: string;
  generation?: number;
  writes?: number[];
  point?: string;
}

/** One reconcile as the proof judges it: who, when, and when it wrote anything. */
export interface ReconcileRecord {
  object: string;
  replica: string;
  pid: number;
  start: number;
  end: number;
  outcome: string;
  generation?: number;
  writes: number[];
}

export async function readProofLog(logDir: string): Promise<ProofLogLine[]> {
  const lines: ProofLogLine[] = [];
  for (const file of (await readdir(logDir)).sort()) {
    const text = await readFile(join(logDir, file), 'utf8');
    for (const line of text.split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as ProofLogLine);
  }
  return lines;
}

/**
 * Turns log lines into reconcile records. A process killed mid-reconcile has a `start` (and maybe
 * `write` lines) but no `reconcile` line: its record ends at the kill and is `killed`; one still
 * running is `unfinished` and lasts for ever.
 */
export function reconcileRecords(lines: ProofLogLine[]): ReconcileRecord[] {
  const records: ReconcileRecord[] = [];
  const byPid = new Map<number, ProofLogLine[]>();
  for (const line of lines) byPid.set(line.pid, [...(byPid.get(line.pid) ?? []), line]);
  for (const [pid, own] of byPid) {
    const open = new Map<string, { start: number; writes: number[]; generation?: number }>();
    const kill = own.find((line) => line.type === 'kill');
    for (const line of own) {
      if (line.type === 'start') open.set(line.object!, { start: line.at!, writes: [], ...(line.generation === undefined ? {} : { generation: line.generation }) });
      if (line.type === 'write') open.get(line.object!)?.writes.push(line.at!);
      if (line.type === 'reconcile') {
        open.delete(line.object!);
        records.push({
          object: line.object!,
          replica: line.replica,
          pid,
          start: line.start!,
          end: line.end!,
          outcome: line.outcome!,
          ...(line.generation === undefined ? {} : { generation: line.generation }),
          writes: line.writes ?? [],
        });
      }
    }
    for (const [object, started] of open) {
      // Not finished: killed, or still running (then it counts as lasting for ever).
      records.push({
        object,
        replica: own[0]!.replica,
        pid,
        start: started.start,
        end: kill?.at ?? Number.POSITIVE_INFINITY,
        outcome: kill === undefined ? 'unfinished' : 'killed',
        writes: started.writes,
        ...(started.generation === undefined ? {} : { generation: started.generation }),
      });
    }
  }
  return records.sort((a, b) => a.start - b.start);
}

/** Pairs of reconciles of one object that both wrote and whose [start, end] overlap. */
export function overlappingWriters(records: ReconcileRecord[]): Array<[ReconcileRecord, ReconcileRecord]> {
  const writers = records.filter((record) => record.writes.length > 0);
  const overlaps: Array<[ReconcileRecord, ReconcileRecord]> = [];
  for (let i = 0; i < writers.length; i += 1) {
    for (let j = i + 1; j < writers.length; j += 1) {
      const a = writers[i]!;
      const b = writers[j]!;
      if (a.object === b.object && a.start < b.end && b.start < a.end) overlaps.push([a, b]);
    }
  }
  return overlaps;
}

/**
 * Reconciles of one object that ran its code to an outcome, or were cut short (killed, aborted):
 * not those waiting for a lease, skipped, finding the object gone, or failing on an outage
 * (`error`: their pace is the backoff, which the SDK's unit tests hold to, not the changes).
 */
export function workingReconciles(records: ReconcileRecord[], object: string): ReconcileRecord[] {
  return records.filter((record) => record.object === object && !['lease-busy', 'skipped', 'gone', 'error'].includes(record.outcome));
}
