/**
 * The write path, in one run on this machine (issues 3 and 8):
 *
 * 1. Throughput, API against a matched raw baseline, for two profiles: `plain` (a kind with no
 *    secret fields and no references: the API's group-committed path) and `secret-ref` (a secret
 *    field and a reference to resolve: the API's one-transaction-per-create path). The baseline
 *    (`raw-write-path.ts`) writes the same rows per object with the API's statements, pool size and
 *    batching, and drains its outbox to JetStream with the API relay's loop. Raw and API windows
 *    alternate (raw, API, API, raw, …) so both see the same neighbours; each window is a closed
 *    loop of CONCURRENCY workers, counted twice: creates answered, and objects that reached the
 *    stream inside the window (the stream's last sequence before and after). The ratio is the
 *    median of the API's on-the-bus rate over the median of the baseline's.
 * 2. Create latency in an open loop (a fixed arrival rate, latency measured from when each create
 *    was due) at 50 % and 80 % of the API's median peak of each profile.
 * 3. Commit to reconcile start: a controller process (the SDK) owns a custom kind; an open-loop
 *    writer creates objects at RATE per second; for each object, from the API's commit to the
 *    moment `reconcile` is entered in the controller → p50/p99.
 *
 *    The commit time is the object's `metadata.createdAt`: the API stamps it inside the
 *    transaction, just before the statements that commit, so `createdAt → reconcile start` can only
 *    overstate the latency (by the rest of the transaction, ~1 ms, and up to 1 ms of rounding).
 *    The writer's own clock after the 201 (`201 → reconcile start`) is reported beside it: it
 *    comes after the commit, so it can only understate. Both clocks are this machine's wall clock
 *    (sub-millisecond in the processes that measure). A core NATS subscription on the kind's
 *    subjects adds when each event reached the bus, which splits the latency into
 *    commit → publish (the relay) and publish → reconcile start (the SDK).
 *
 * CPU per object is read from /proc for this process (load generator, and the baseline's relay in
 * raw windows), the API process, the Postgres backends of each side, and the NATS server.
 *
 * Figures go to `bench-results/write-path.json`. Environment: BENCH_CONCURRENCY (16),
 * BENCH_WINDOWS (3 per side and profile), BENCH_WARMUP_WINDOWS (1 per side and profile, run first
 * and not counted), BENCH_WINDOW_MS (5000, after 1000 ms of warm-up),
 * BENCH_OPEN_LOOP_MS (4000), BENCH_RATE (100), BENCH_RECONCILE_WRITES (1500),
 * BENCH_PROFILES (plain,secret-ref), BENCH_API_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), BENCH_CONTROLLER_NODE_ARGS,
 * BENCH_KEEP_LOGS, BENCH_WRITES_FILE (a path: each measured write of the latency part, its times as one JSON line).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { CREATE_GATHER } from '@tugboat/api/write-path-statements';
import { REDACTED, streamNames } from '@tugboat/resource-model';
import pg from 'pg';
import { DATABASE_URL, NATS_URL, REPO_ROOT, waitUntil } from '../harness/cli-processes.js';
import { startBenchInstallation, type BenchInstallation } from './bench-installation.js';
import { createHttpJsonClient, type HttpJsonClient } from './http-json.js';
import { findNatsServerPid, startCpuMeter } from './process-cpu.js';
import { formatTable, latencyStats, round, wallClockMs, type LatencyStats } from './latency-stats.js';
import { measureWakeUpCost } from './wake-up-probe.js';
import { sealedLike, startRawWritePath, type RawObject, type RawWritePath } from './raw-write-path.js';

const env = process.env;
const CONCURRENCY = Number(env['BENCH_CONCURRENCY'] ?? 16);
const WINDOWS = Number(env['BENCH_WINDOWS'] ?? 3);
const WINDOW_MS = Number(env['BENCH_WINDOW_MS'] ?? 5_000);
const WARMUP_MS = 1_000;
/**
 * Whole windows per side and profile run first and thrown away: the first thousands of requests
 * find a cold API (code not yet optimised by the JIT, connections not yet opened), which a
 * serving API has long left behind; a window that meets it measures start-up, not the write path.
 */
const WARMUP_WINDOWS = Number(env['BENCH_WARMUP_WINDOWS'] ?? 1);
const OPEN_LOOP_MS = Number(env['BENCH_OPEN_LOOP_MS'] ?? 4_000);
/** Sockets of the open-loop client: enough that the client never queues what the API could take. */
const OPEN_LOOP_SOCKETS = 64;
const RATE = Number(env['BENCH_RATE'] ?? 100);
const RECONCILE_WRITES = Number(env['BENCH_RECONCILE_WRITES'] ?? 1_500);
/** Writes at the start of the open loop left out of the figures (connections, JIT, first pulls). */
const RECONCILE_WARMUP_WRITES = Math.min(200, Math.floor(RECONCILE_WRITES / 5));
const PROJECT = 'bench';
const CONTROLLER_CONCURRENCY = Number(env['BENCH_CONTROLLER_CONCURRENCY'] ?? 8);

/**
 * The API's own settings, which the baseline copies: its `pg` pool (`database.ts`, `poolSize`
 * default), group commit (`resource-writes.ts`, `groupCommit` defaults) and relay batch
 * (`outbox-relay.ts`, `batchSize` default). The run also prints how many Postgres connections the
 * API actually had, and the mean batch each side formed.
 */
const API_SETTINGS = { poolSize: 10, maxInFlight: 1, maxBatch: 64, relayBatch: 256 };

/** Throughput kinds: owned by a controller that never runs here, so only the write path is measured. */
const IDLE_CONTROLLER = 'bench-idle-controller';
const WIDGET = { kind: 'BenchWidget', plural: 'benchwidgets' };
const STORE = { kind: 'BenchStore', plural: 'benchstores' };
const VAULT = { kind: 'BenchVault', plural: 'benchvaults' };
const STORE_NAME = 'store-1';
/** Latency kind: owned by the benchmark's controller process. */
const RECONCILE_KIND = 'BenchTask';
const RECONCILE_PLURAL = 'benchtasks';
const CONTROLLER = 'bench-controller';
const WRITER = 'bench-writer';

const specProperties = {
  image: { type: 'string', minLength: 1, maxLength: 512 },
  replicas: { type: 'integer', minimum: 0, maximum: 1000 },
  port: { type: 'integer', minimum: 1, maximum: 65535 },
  env: { type: 'object', additionalProperties: { type: 'string' } },
  command: { type: 'array', items: { type: 'string' } },
};
const specSchema = { type: 'object', additionalProperties: false, required: ['image', 'replicas'], properties: specProperties };
const vaultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['image', 'replicas', 'password', 'storeRef'],
  properties: {
    ...specProperties,
    password: { type: 'string', minLength: 8, maxLength: 256 },
    storeRef: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' } } },
  },
};

function specFor(i: number): Record<string, unknown> {
  return {
    image: `registry.example.com/team/shop-web:1.${i % 50}.0`,
    replicas: 1 + (i % 5),
    port: 8080,
    env: { LOG_LEVEL: 'info', REGION: 'eu-west-1', FEATURE_FLAGS: 'checkout,search', REQUEST_ID: String(i) },
    command: ['node', 'server.js', '--listen', '0.0.0.0:8080'],
  };
}
const passwordFor = (i: number) => `pw-${i}-${randomUUID()}`;
const LABELS = { tier: 'web', team: 'shop', env: 'bench' };

type Profile = 'plain' | 'secret-ref';
const ALL_PROFILES: readonly Profile[] = ['plain', 'secret-ref'];
/** BENCH_PROFILES=plain (for a CPU profile of one path) runs only those named; the plain profile is the target's. */
const PROFILES = ALL_PROFILES.filter((profile) => (env['BENCH_PROFILES'] ?? ALL_PROFILES.join(',')).split(',').includes(profile));
type Side = 'raw' | 'api';

/** What the API is sent for object `i` of a profile. */
function apiRequest(profile: Profile, name: string, i: number): { path: string; body: unknown } {
  if (profile === 'plain') return { path: `/v1/${WIDGET.plural}`, body: { metadata: { name, project: PROJECT, labels: LABELS }, spec: specFor(i) } };
  return { path: `/v1/${VAULT.plural}`, body: { metadata: { name, project: PROJECT, labels: LABELS }, spec: { ...specFor(i), password: passwordFor(i), storeRef: { name: STORE_NAME } } } };
}

/** What the baseline writes for object `i`: the rows the API's create of `apiRequest` writes. */
function rawObject(profile: Profile, name: string, i: number): RawObject {
  const common = { uid: randomUUID(), project: PROJECT, name, labels: LABELS, finalizers: [IDLE_CONTROLLER], actor: WRITER };
  if (profile === 'plain') return { ...common, kind: WIDGET.kind, spec: specFor(i), secrets: {} };
  return {
    ...common,
    kind: VAULT.kind,
    spec: { ...specFor(i), password: REDACTED, storeRef: { name: STORE_NAME } },
    secrets: { password: sealedLike(passwordFor(i)) },
    reference: { path: 'storeRef', kind: STORE.kind, name: STORE_NAME },
  };
}

interface CpuPerObject {
  client: number;
  api: number;
  postgres: number;
  nats: number;
  total: number;
}

interface WindowResult {
  side: Side;
  profile: Profile;
  window: number;
  /** Creates answered inside the window, per second. */
  answeredPerSecond: number;
  /** Objects whose event reached the stream inside the window, per second. */
  busPerSecond: number;
  latencyMs: LatencyStats;
  /** CPU per object on the bus (ms). */
  cpuPerObjectMs: CpuPerObject;
  /** Objects per statement: objects created in the window ÷ distinct commit timestamps among them. */
  meanBatch: number;
  /** Outbox rows not yet on the bus when the window closed. */
  outboxAtEnd: number;
}

interface WriteTarget {
  stream: string;
  schema: string;
  meter: { apiPid?: number; natsPid?: number; applicationNames: string[] };
  create(profile: Profile, name: string, i: number): Promise<void>;
}

async function lastSequence(jsm: JetStreamManager, stream: string): Promise<{ seq: number; at: number }> {
  const info = await jsm.streams.info(stream);
  return { seq: info.state.last_seq, at: wallClockMs() };
}

async function scalar(schema: string, text: string, values: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'tugboat-bench-probe' });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(text.replaceAll('%s', `"${schema}"`), values);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

const outboxBacklog = (schema: string) => scalar(schema, 'select count(*)::text as n from %s.outbox');

/**
 * Flushes to disk what the windows before left in memory: a Postgres checkpoint (its dirty buffers,
 * written and synced) and `sync` (everything else, NATS's stream files included). Run after every
 * throughput window, so each window, raw or API, starts from the same clean disk, and before the
 * latency part. Without it, the kernel writes those pages back 30 s after they were dirtied, i.e.
 * during a later window or the latency part, and a commit's WAL flush waits behind them: runs showed
 * the CPUs in iowait, three to ten creates in a row taking 20–67 ms, a stall that alone set the
 * latency part's p99, and throughput windows of either side at a third of their neighbours'. Needs
 * a role allowed to `CHECKPOINT` (superuser or `pg_checkpoint`); without one it says so once, and
 * only syncs.
 */
let checkpointRefused = false;
const execFileAsync = promisify(execFile);
async function flushToDisk(): Promise<{ ms: number; checkpoint: boolean }> {
  const started = wallClockMs();
  if (!checkpointRefused) {
    const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'tugboat-bench-probe' });
    await client.connect();
    try {
      await client.query('checkpoint');
    } catch (error) {
      checkpointRefused = true;
      console.log(`  could not CHECKPOINT (${(error as Error).message}): only sync before each window and the latency part; a checkpoint may stall one of them`);
    } finally {
      await client.end();
    }
  }
  await execFileAsync('sync');
  return { ms: round(wallClockMs() - started, 0), checkpoint: !checkpointRefused };
}

let nextObject = 0;

/**
 * One window: CONCURRENCY workers create back to back; after WARMUP_MS the window opens (CPU and
 * the stream's sequence are read), WINDOW_MS later it closes. Creates that started and finished
 * inside it count as answered.
 */
async function measureWindow(jsm: JetStreamManager, side: Side, target: WriteTarget, profile: Profile, window: number): Promise<WindowResult> {
  const begin = wallClockMs();
  const measureFrom = begin + WARMUP_MS;
  const measureTo = measureFrom + WINDOW_MS;
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure = '';
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  const probe = (async () => {
    await sleep(measureFrom - wallClockMs());
    const meter = await startCpuMeter(target.meter);
    const first = await lastSequence(jsm, target.stream);
    const openedAt = new Date();
    await sleep(measureTo - wallClockMs());
    const last = await lastSequence(jsm, target.stream);
    const closedAt = new Date();
    const cpu = await meter.stop();
    return { first, last, cpu, openedAt, closedAt };
  })();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const started = wallClockMs();
        if (started >= measureTo) return;
        const i = nextObject++;
        try {
          await target.create(profile, `${side}-${profile}-${i}`, i);
        } catch (error) {
          failures += 1;
          firstFailure ||= String(error);
          continue;
        }
        const finished = wallClockMs();
        if (started >= measureFrom && finished <= measureTo) latencies.push(finished - started);
      }
    }),
  );
  if (failures > 0) throw new Error(`${side} ${profile}: ${failures} creates failed, first: ${firstFailure}`);
  const { first, last, cpu, openedAt, closedAt } = await probe;
  const onBus = last.seq - first.seq;
  const seconds = (last.at - first.at) / 1000;
  const per = (ms: number) => round(ms / Math.max(1, onBus), 3);
  const kind = profile === 'plain' ? WIDGET.kind : VAULT.kind;
  const created = await scalar(target.schema, 'select count(*)::text as n from %s.resources where kind = $1 and created_at >= $2 and created_at < $3', [kind, openedAt, closedAt]);
  const batches = await scalar(target.schema, 'select count(distinct created_at)::text as n from %s.resources where kind = $1 and created_at >= $2 and created_at < $3', [kind, openedAt, closedAt]);
  return {
    side,
    profile,
    window,
    answeredPerSecond: round(latencies.length / (WINDOW_MS / 1000), 1),
    busPerSecond: round(onBus / seconds, 1),
    latencyMs: latencyStats(latencies),
    cpuPerObjectMs: {
      client: per(cpu.clientMs),
      api: per(cpu.apiMs),
      postgres: per(cpu.postgresMs),
      nats: per(cpu.natsMs),
      total: per(cpu.clientMs + cpu.apiMs + cpu.postgresMs + cpu.natsMs),
    },
    meanBatch: round(created / Math.max(1, batches), 1),
    outboxAtEnd: await outboxBacklog(target.schema),
  };
}

interface OpenLoopResult {
  profile: Profile;
  percentOfPeak: number;
  rate: number;
  /** Answered per second over the measured part. */
  achieved: number;
  /** From when each create was due to its answer (so a late start counts). */
  latencyMs: LatencyStats;
  writerLagMs: number;
}

/** Creates due at a fixed rate, whether or not earlier ones answered; the first WARMUP_MS are left out. */
async function openLoop(client: HttpJsonClient, profile: Profile, percentOfPeak: number, rate: number): Promise<OpenLoopResult> {
  const intervalMs = 1000 / rate;
  const total = Math.round(((WARMUP_MS + OPEN_LOOP_MS) / 1000) * rate);
  const start = wallClockMs() + 20;
  const measureFrom = start + WARMUP_MS;
  const latencies: number[] = [];
  const inFlight: Array<Promise<void>> = [];
  let writerLagMs = 0;
  for (let n = 0; n < total; n += 1) {
    const due = start + n * intervalMs;
    const wait = due - wallClockMs();
    if (wait > 0.5) await new Promise((resolve) => setTimeout(resolve, wait));
    if (due >= measureFrom) writerLagMs = Math.max(writerLagMs, wallClockMs() - due);
    const i = nextObject++;
    const request = apiRequest(profile, `open-${profile}-${i}`, i);
    const sent = client.send('POST', request.path, request.body).then((answer) => {
      if (answer.status !== 201) throw new Error(`open loop ${profile}: ${answer.status} ${JSON.stringify(answer.body)}`);
      if (due >= measureFrom) latencies.push(wallClockMs() - due);
    });
    // Awaited after the loop; a failure meanwhile must not end the process as an unhandled rejection.
    sent.catch(() => undefined);
    inFlight.push(sent);
  }
  await Promise.all(inFlight);
  return { profile, percentOfPeak, rate: round(rate, 1), achieved: round(latencies.length / (OPEN_LOOP_MS / 1000), 1), latencyMs: latencyStats(latencies), writerLagMs: round(writerLagMs) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return round(sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2, 3);
}

interface WriteRecord {
  name: string;
  sentAt: number;
  answeredAt: number;
  createdAt: number;
}

interface CommitToReconcileResult {
  rate: number;
  writes: number;
  measured: number;
  commitToReconcileMs: LatencyStats;
  answerToReconcileMs: LatencyStats;
  commitToPublishMs: LatencyStats;
  publishToReconcileMs: LatencyStats;
  /** Delivery, local queue and lease (the lease time is the SDK's, in whole ms). */
  publishToLeaseMs: LatencyStats;
  /** The SDK's read of the object through the API. */
  leaseToReconcileMs: LatencyStats;
  /** Lease held → reconcile ended (GET, reconcile, status write): how long one object holds one of the controller's workers. */
  leaseToDoneMs: LatencyStats;
  /**
   * Reconciles of measured objects the controller ended per second while the measured writes were
   * being sent. Below the write rate, a queue grows for the whole run and the latencies measure it.
   */
  controllerPerSecond: number;
  createLatencyMs: LatencyStats;
  /** How far the open-loop writer fell behind its schedule at worst (ms). */
  writerLagMs: number;
}

async function measureCommitToReconcile(installation: BenchInstallation, client: HttpJsonClient, controllerToken: string): Promise<CommitToReconcileResult> {
  // When each change reached the bus: a plain subscription sees every message published to the stream's subjects.
  const published = new Map<string, number>();
  const nc = await connect({ servers: NATS_URL });
  const subscription = nc.subscribe(`${installation.prefix}.res.${RECONCILE_KIND}.>`, {
    callback: (error, msg) => {
      if (error) return;
      const at = wallClockMs();
      const name = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
      if (!published.has(name)) published.set(name, at);
    },
  });
  await nc.flush();

  const reconcileLog = join(installation.workDir, 'reconciles.jsonl');
  const controller = installation.spawnTs('controller', 'e2e/src/bench/bench-controller.ts', {
    TUGBOAT_API_URL: installation.apiUrl,
    TUGBOAT_TOKEN: controllerToken,
    NATS_URL,
    TUGBOAT_NATS_PREFIX: installation.prefix,
    RECONCILE_LOG: reconcileLog,
    BENCH_KIND: RECONCILE_KIND,
    BENCH_CONTROLLER: CONTROLLER,
    BENCH_CONTROLLER_CONCURRENCY: String(CONTROLLER_CONCURRENCY),
  }, (env['BENCH_CONTROLLER_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== ''));
  const readLog = async () =>
    (await readFile(reconcileLog, 'utf8').catch(() => ''))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { type: string; name?: string; generation?: number; at: number });
  await waitUntil(
    async () => {
      if (controller.child.exitCode !== null) throw new Error(`the controller exited while starting:\n${await controller.tail()}`);
      return (await readLog()).some((line) => line.type === 'ready');
    },
    'the bench controller to be ready',
    30_000,
  );

  const started = new Map<string, number>();
  const leased = new Map<string, number>();
  const finished = new Map<string, number>();
  const readReconciles = async () => {
    for (const line of await readLog()) {
      if (line.type === 'done' && !finished.has(line.name!)) finished.set(line.name!, line.at);
      if (line.type === 'start' && line.generation === 1 && !started.has(line.name!)) started.set(line.name!, line.at);
      if (line.type === 'lease' && !leased.has(line.name!)) leased.set(line.name!, line.at);
    }
  };

  // Open loop: write i is due at start + (i - first) / RATE, whether or not earlier writes have answered.
  const writes: WriteRecord[] = [];
  let writerLagMs = 0;
  const openLoop = async (first: number, end: number, record: boolean): Promise<string[]> => {
    const inFlight: Array<Promise<void>> = [];
    const names: string[] = [];
    const intervalMs = 1000 / RATE;
    const start = wallClockMs() + 20;
    for (let i = first; i < end; i += 1) {
      const due = start + (i - first) * intervalMs;
      const wait = due - wallClockMs();
      if (wait > 0.5) await new Promise((resolve) => setTimeout(resolve, wait));
      if (record) writerLagMs = Math.max(writerLagMs, wallClockMs() - due);
      const name = `t-${i}`;
      names.push(name);
      const sentAt = wallClockMs();
      inFlight.push(
        client.send('POST', `/v1/${RECONCILE_PLURAL}`, { metadata: { name, project: PROJECT, labels: LABELS }, spec: specFor(i) }).then((answer) => {
          const answeredAt = wallClockMs();
          if (answer.status !== 201) throw new Error(`create ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
          const createdAt = Date.parse((answer.body as { metadata: { createdAt: string } }).metadata.createdAt);
          if (record) writes.push({ name, sentAt, answeredAt, createdAt });
        }),
      );
    }
    await Promise.all(inFlight);
    return names;
  };

  // Warm-up (connections, JIT, first pulls) at the same rate, then wait until the controller has
  // reconciled all of it: a fresh controller is several times slower for its first few hundred
  // objects, and a backlog it builds then would otherwise be carried into the measured writes (at
  // a rate near the controller's capacity it never drains), so every measured object would wait
  // behind it and p50 ≈ p99 ≈ the backlog, whatever the latency of one object.
  const warmup = await openLoop(0, RECONCILE_WARMUP_WRITES, false);
  await waitUntil(
    async () => {
      await readReconciles();
      return warmup.every((name) => started.has(name));
    },
    `the warm-up objects to be reconciled (log in ${reconcileLog})`,
    60_000,
  );
  await openLoop(RECONCILE_WARMUP_WRITES, RECONCILE_WRITES, true);

  await waitUntil(
    async () => {
      await readReconciles();
      return writes.every((write) => started.has(write.name) && leased.has(write.name) && finished.has(write.name));
    },
    `every object to be reconciled (log in ${reconcileLog})`,
    60_000,
  );
  subscription.unsubscribe();
  await nc.close();

  const byName = (map: Map<string, number>, name: string) => map.get(name)!;
  const missingPublish = writes.filter((write) => !published.has(write.name)).length;
  if (missingPublish > 0) throw new Error(`${missingPublish} changes were never seen on the bus`);
  const firstSent = Math.min(...writes.map((w) => w.sentAt));
  const lastSent = Math.max(...writes.map((w) => w.sentAt));
  // Every measured write's times, to find where a tail came from (`BENCH_WRITES_FILE`).
  const writesFile = env['BENCH_WRITES_FILE'];
  if (writesFile) await writeFile(writesFile, writes.map((w) => JSON.stringify({ ...w, published: published.get(w.name), leased: leased.get(w.name), started: started.get(w.name) }) + '\n').join(''));
  const doneWhileWriting = writes.filter((w) => byName(finished, w.name) <= lastSent).length;
  return {
    rate: RATE,
    writes: RECONCILE_WRITES,
    measured: writes.length,
    commitToReconcileMs: latencyStats(writes.map((w) => byName(started, w.name) - w.createdAt)),
    answerToReconcileMs: latencyStats(writes.map((w) => byName(started, w.name) - w.answeredAt)),
    commitToPublishMs: latencyStats(writes.map((w) => byName(published, w.name) - w.createdAt)),
    publishToReconcileMs: latencyStats(writes.map((w) => byName(started, w.name) - byName(published, w.name))),
    publishToLeaseMs: latencyStats(writes.map((w) => byName(leased, w.name) - byName(published, w.name))),
    leaseToReconcileMs: latencyStats(writes.map((w) => byName(started, w.name) - byName(leased, w.name))),
    leaseToDoneMs: latencyStats(writes.map((w) => byName(finished, w.name) - byName(leased, w.name))),
    controllerPerSecond: round((doneWhileWriting / (lastSent - firstSent)) * 1000, 1),
    createLatencyMs: latencyStats(writes.map((w) => w.answeredAt - w.sentAt)),
    writerLagMs: round(writerLagMs),
  };
}

async function main(): Promise<void> {
  const apiNodeArgs = (env['BENCH_API_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
  // The machine is shared: the load before and after says how much the figures were disturbed.
  const loadBefore = loadavg().map((value) => round(value));
  const installation = await startBenchInstallation({ apiNodeArgs });
  const rawSchema = `${installation.schema}_raw`;
  const rawPrefix = `${installation.prefix}_raw`;
  const leaseBucket = `KV_${streamNames(installation.prefix).eventsStream.replace(/_EVENTS$/, '')}_LEASES_${CONTROLLER}`;
  const natsPid = await findNatsServerPid(Number(new URL(NATS_URL).port || 4222));
  const nc = await connect({ servers: NATS_URL });
  let raw: RawWritePath | undefined;
  try {
    const jsm = await jetstreamManager(nc);
    const admin = createHttpJsonClient({ port: installation.port, token: installation.adminToken, maxSockets: 2 });
    const kinds = [
      { ...WIDGET, controller: IDLE_CONTROLLER, schema: specSchema },
      { ...STORE, controller: IDLE_CONTROLLER, schema: specSchema },
      { ...VAULT, controller: IDLE_CONTROLLER, schema: vaultSchema, secretFields: ['password'], references: [{ path: 'storeRef', kind: STORE.kind, required: true }] },
      { kind: RECONCILE_KIND, plural: RECONCILE_PLURAL, controller: CONTROLLER, schema: specSchema },
    ];
    for (const kind of kinds) {
      const answer = await admin.send('POST', '/v1/kinds', { scope: 'Project', ...kind });
      if (answer.status !== 201) throw new Error(`register ${kind.kind}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    const project = await admin.send('POST', '/v1/projects', { metadata: { name: PROJECT }, spec: {} });
    if (project.status !== 201) throw new Error(`create the project: ${project.status} ${JSON.stringify(project.body)}`);
    const tokenOf = async (name: string, type: 'serviceaccount' | 'controller') => {
      // The writer is a pipeline: an editor of the bench project.
      const answer = await admin.send('POST', '/v1/tokens', type === 'controller' ? { name, type } : { name, type, project: PROJECT, role: 'editor' });
      if (answer.status !== 201) throw new Error(`token ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return (answer.body as { token: string }).token;
    };
    const writerToken = await tokenOf(WRITER, 'serviceaccount');
    const controllerToken = await tokenOf(CONTROLLER, 'controller');
    const store = await admin.send('POST', `/v1/${STORE.plural}`, { metadata: { name: STORE_NAME, project: PROJECT }, spec: specFor(0) });
    if (store.status !== 201) throw new Error(`create the store: ${store.status} ${JSON.stringify(store.body)}`);
    admin.close();

    raw = await startRawWritePath({ schema: rawSchema, prefix: rawPrefix, applicationName: `${rawSchema}-client`, ...API_SETTINGS });
    // The raw path writes into the same schema, so its objects need their Project row too.
    await raw.create({ ...rawObject('plain', PROJECT, 0), kind: 'Project', project: '', finalizers: [] });
    await raw.create({ ...rawObject('plain', STORE_NAME, 0), kind: STORE.kind });
    const writer = createHttpJsonClient({ port: installation.port, token: writerToken, maxSockets: CONCURRENCY });
    const rawPath = raw;
    const targets: Record<Side, WriteTarget> = {
      raw: {
        stream: raw.streamName,
        schema: rawSchema,
        meter: { ...(natsPid === undefined ? {} : { natsPid }), applicationNames: [`${rawSchema}-client`] },
        create: (profile, name, i) => rawPath.create(rawObject(profile, name, i)),
      },
      api: {
        stream: streamNames(installation.prefix).eventsStream,
        schema: installation.schema,
        meter: { apiPid: installation.api.child.pid!, ...(natsPid === undefined ? {} : { natsPid }), applicationNames: [installation.apiApplicationName] },
        async create(profile, name, i) {
          const request = apiRequest(profile, name, i);
          const answer = await writer.send('POST', request.path, request.body);
          if (answer.status !== 201) throw new Error(`${answer.status} ${JSON.stringify(answer.body)}`);
        },
      },
    };

    // Between windows: the side's outbox drains, and what the window wrote is on disk.
    const settleAfterWindow = async (side: Side) => {
      await waitUntil(async () => (await outboxBacklog(targets[side].schema)) === 0, `the ${side} outbox to drain`, 60_000);
      await flushToDisk();
    };
    console.log(`write-path: load average ${loadBefore.join(' ')}; ${WINDOWS} windows per side and profile (after ${WARMUP_WINDOWS} not counted), ${WINDOW_MS} ms after ${WARMUP_MS} ms warm-up; nats-server pid ${natsPid ?? 'not found'}`);
    const windows: WindowResult[] = [];
    for (const profile of PROFILES) {
      for (let w = 1; w <= WARMUP_WINDOWS; w += 1) {
        for (const side of ['raw', 'api'] as const) {
          const result = await measureWindow(jsm, side, targets[side], profile, 1 - w);
          console.log(`  ${profile} warm-up window ${w} ${side} (not counted): ${result.busPerSecond}/s on the bus`);
          await settleAfterWindow(side);
        }
      }
      for (let w = 1; w <= WINDOWS; w += 1) {
        // raw, API, API, raw, …: neither side always goes first.
        const order: Side[] = w % 2 === 1 ? ['raw', 'api'] : ['api', 'raw'];
        for (const side of order) {
          const result = await measureWindow(jsm, side, targets[side], profile, w);
          windows.push(result);
          console.log(`  ${profile} window ${w} ${side}: ${result.busPerSecond}/s on the bus, ${result.answeredPerSecond}/s answered, batch ${result.meanBatch}, CPU ms/object ${JSON.stringify(result.cpuPerObjectMs)}`);
          await settleAfterWindow(side);
        }
      }
    }
    const apiConnections = await scalar(installation.schema, 'select count(*)::text as n from pg_stat_activity where application_name = $1', [installation.apiApplicationName]);

    const summary = PROFILES.map((profile) => {
      const of = (side: Side) => windows.filter((w) => w.profile === profile && w.side === side);
      const med = (side: Side, pick: (w: WindowResult) => number) => median(of(side).map(pick));
      const cpuOf = (side: Side): CpuPerObject => ({
        client: med(side, (w) => w.cpuPerObjectMs.client),
        api: med(side, (w) => w.cpuPerObjectMs.api),
        postgres: med(side, (w) => w.cpuPerObjectMs.postgres),
        nats: med(side, (w) => w.cpuPerObjectMs.nats),
        total: med(side, (w) => w.cpuPerObjectMs.total),
      });
      const rawBus = med('raw', (w) => w.busPerSecond);
      const apiBus = med('api', (w) => w.busPerSecond);
      return {
        profile,
        raw: { busPerSecond: rawBus, answeredPerSecond: med('raw', (w) => w.answeredPerSecond), p50: med('raw', (w) => w.latencyMs.p50), p99: med('raw', (w) => w.latencyMs.p99), meanBatch: med('raw', (w) => w.meanBatch), cpuPerObjectMs: cpuOf('raw') },
        api: { busPerSecond: apiBus, answeredPerSecond: med('api', (w) => w.answeredPerSecond), p50: med('api', (w) => w.latencyMs.p50), p99: med('api', (w) => w.latencyMs.p99), meanBatch: med('api', (w) => w.meanBatch), cpuPerObjectMs: cpuOf('api') },
        apiToRawPercent: round((apiBus / rawBus) * 100, 1),
        apiToRawPercentPerWindow: of('api').map((w, i) => round((w.busPerSecond / of('raw')[i]!.busPerSecond) * 100, 1)),
      };
    });

    const openClient = createHttpJsonClient({ port: installation.port, token: writerToken, maxSockets: OPEN_LOOP_SOCKETS });
    const openLoops: OpenLoopResult[] = [];
    for (const entry of summary) {
      for (const percent of [50, 80]) {
        const result = await openLoop(openClient, entry.profile, percent, (entry.api.busPerSecond * percent) / 100);
        openLoops.push(result);
        console.log(`  open loop ${entry.profile} at ${percent} % (${result.rate}/s): p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`);
        await waitUntil(async () => (await outboxBacklog(installation.schema)) === 0, 'the API outbox to drain', 60_000);
      }
    }
    openClient.close();

    const flushed = await flushToDisk();
    console.log(`  throughput writes flushed to disk in ${flushed.ms} ms (${flushed.checkpoint ? 'checkpoint and sync' : 'sync only'})`);
    // What a wake-up costs on the machine right now: the latency below is read beside it.
    const wakeUp = await measureWakeUpCost({ rate: RATE, pacedRequests: 2 * RATE, backToBackRequests: 5_000 });
    console.log(`  wake-up cost: ${wakeUp.pacedCpuMs} ms of CPU per request at ${RATE}/s, ${wakeUp.backToBackCpuMs} ms back to back`);
    const reconcile = await measureCommitToReconcile(installation, writer, controllerToken);
    writer.close();

    const plainRatio = summary.find((entry) => entry.profile === 'plain')?.apiToRawPercent ?? Number.NaN;
    const loadAfter = loadavg().map((value) => round(value));
    const figures = {
      benchmark: 'write-path',
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter },
      config: {
        concurrency: CONCURRENCY, windows: WINDOWS, warmupWindows: WARMUP_WINDOWS, windowMs: WINDOW_MS, warmupMs: WARMUP_MS, openLoopMs: OPEN_LOOP_MS, openLoopSockets: OPEN_LOOP_SOCKETS,
        rate: RATE, reconcileWrites: RECONCILE_WRITES, reconcileWarmupWrites: RECONCILE_WARMUP_WRITES, controllerConcurrency: CONTROLLER_CONCURRENCY,
        apiSettings: API_SETTINGS, apiPostgresConnectionsSeen: apiConnections, natsPid: natsPid ?? null,
      },
      windows,
      summary,
      openLoops,
      commitToReconcile: reconcile,
      wakeUpCost: wakeUp,
      flushBeforeLatency: flushed,
      baselineStatements: raw.statements,
      targets: {
        apiToRawPercent: { target: 40, actual: plainRatio, met: plainRatio >= 40 },
        commitToReconcileP99Ms: { target: 25, actual: reconcile.commitToReconcileMs.p99, met: reconcile.commitToReconcileMs.p99 <= 25 },
      },
    };

    const ms = (s: LatencyStats) => [s.p50, s.p90, s.p99, s.max];
    const cpu = (c: CpuPerObject) => [c.client, c.api, c.postgres, c.nats, c.total];
    console.log('');
    console.log('Baseline statements (raw-write-path.ts; mirror services/api/src/resource-writes.ts, change-recorder.ts and outbox-relay.ts):');
    console.log(`-- plain profile, one statement per batch (shown for 2 objects):\n${raw.statements.batched}`);
    console.log(`-- secret-ref profile, one transaction per object:\n${raw.statements.withReference.join(';\n')}`);
    console.log(`-- relay pass (both profiles):\n${raw.statements.relay.join(';\n')}`);
    console.log('');
    console.log(
      formatTable(
        ['process', 'concurrency'],
        [
          ['load generator (closed loop)', `${CONCURRENCY} workers, ${CONCURRENCY} keep-alive sockets`],
          ['load generator (open loop)', `fixed arrival rate, up to ${OPEN_LOOP_SOCKETS} sockets`],
          ['API', `pg pool ${API_SETTINGS.poolSize} (${apiConnections} connections seen), group commit ${API_SETTINGS.maxInFlight} batch in flight of <= ${API_SETTINGS.maxBatch} (after one of >= ${CREATE_GATHER.minBatch}, the next waits <= ${CREATE_GATHER.ms} ms for as many again), relay reads ${API_SETTINGS.relayBatch} rows, 1 row per object in flight`],
          ['raw baseline', `pg pool ${API_SETTINGS.poolSize}, same group commit and relay, ${CONCURRENCY} workers`],
          ['controller (SDK)', `${CONTROLLER_CONCURRENCY} reconciles at once`],
        ],
      ),
    );
    console.log('');
    console.log(
      formatTable(
        ['window', 'side', 'on bus/s', 'answered/s', 'p50 ms', 'p99 ms', 'batch', 'outbox left', 'CPU client', 'api', 'postgres', 'nats', 'total ms'],
        windows.map((w) => [`${w.profile} ${w.window}`, w.side, w.busPerSecond, w.answeredPerSecond, w.latencyMs.p50, w.latencyMs.p99, w.meanBatch, w.outboxAtEnd, ...cpu(w.cpuPerObjectMs)]),
      ),
    );
    console.log('');
    console.log(
      formatTable(
        ['median', 'on bus/s', 'answered/s', 'p50 ms', 'p99 ms', 'batch', 'CPU client', 'api', 'postgres', 'nats', 'total ms'],
        summary.flatMap((s) => [
          [`${s.profile} raw`, s.raw.busPerSecond, s.raw.answeredPerSecond, s.raw.p50, s.raw.p99, s.raw.meanBatch, ...cpu(s.raw.cpuPerObjectMs)],
          [`${s.profile} API`, s.api.busPerSecond, s.api.answeredPerSecond, s.api.p50, s.api.p99, s.api.meanBatch, ...cpu(s.api.cpuPerObjectMs)],
          [`${s.profile} API / raw`, `${s.apiToRawPercent} %`, `per window ${s.apiToRawPercentPerWindow.join(' / ')} %`, '', '', '', '', '', '', '', ''],
        ]),
      ),
    );
    console.log('');
    console.log(
      formatTable(
        ['measure', 'rate/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
        [
          ...openLoops.map((o) => [`API create, ${o.profile}, open loop at ${o.percentOfPeak} % of peak`, o.rate, ...ms(o.latencyMs)]),
          [`API create at ${RATE}/s (open loop, reconcile kind)`, RATE, ...ms(reconcile.createLatencyMs)],
          ['commit -> reconcile start', RATE, ...ms(reconcile.commitToReconcileMs)],
          ['  201 answer -> reconcile start', RATE, ...ms(reconcile.answerToReconcileMs)],
          ['  commit -> on the bus (relay)', RATE, ...ms(reconcile.commitToPublishMs)],
          ['  on the bus -> reconcile start (SDK)', RATE, ...ms(reconcile.publishToReconcileMs)],
          ['    on the bus -> lease held', RATE, ...ms(reconcile.publishToLeaseMs)],
          ['    lease held -> reconcile start (GET)', RATE, ...ms(reconcile.leaseToReconcileMs)],
          ['  lease held -> reconcile end (one worker busy)', RATE, ...ms(reconcile.leaseToDoneMs)],
        ],
      ),
    );
    console.log(
      `machine: a bare node:http request costs its server ${wakeUp.pacedCpuMs} ms of CPU at ${RATE}/s (asleep between requests) and ${wakeUp.backToBackCpuMs} ms back to back ` +
        `(round trip at ${RATE}/s p50 ${wakeUp.pacedRoundTripMs.p50} ms, p99 ${wakeUp.pacedRoundTripMs.p99} ms); every hop of commit -> reconcile start pays the first`,
    );
    console.log(
      `controller: ${reconcile.controllerPerSecond} reconciles/s ended while ${RATE} writes/s were sent (${CONTROLLER_CONCURRENCY} at once)` +
        (reconcile.controllerPerSecond < RATE * 0.97 ? ' — below the write rate: the latencies above are mostly a queue' : ''),
    );
    console.log('');
    console.log(
      formatTable(
        ['target', 'wanted', 'actual', 'met'],
        [
          ['API create / matched raw, plain (on the bus, medians)', '>= 40 %', `${figures.targets.apiToRawPercent.actual} %`, figures.targets.apiToRawPercent.met ? 'yes' : 'no'],
          ...summary.filter((entry) => entry.profile !== 'plain').map((entry) => [`API create / matched raw, ${entry.profile} (not a target)`, '', `${entry.apiToRawPercent} %`, '']),
          ['commit -> reconcile start p99', '<= 25 ms', `${reconcile.commitToReconcileMs.p99} ms`, figures.targets.commitToReconcileP99Ms.met ? 'yes' : 'no'],
        ],
      ),
    );
    console.log(`\nload average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}`);
    const resultsDir = join(REPO_ROOT, 'bench-results');
    await mkdir(resultsDir, { recursive: true });
    const file = join(resultsDir, 'write-path.json');
    await writeFile(file, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`figures written to ${file}`);
  } catch (error) {
    console.error(`API output (tail):\n${await installation.api.tail()}`);
    throw error;
  } finally {
    await raw?.close();
    await nc.close();
    await installation.close({ extraSchemas: [rawSchema], extraStreams: [leaseBucket] });
  }
}

await main();
