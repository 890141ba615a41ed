/**
 * The write path, in one run on this machine (issue 3):
 *
 * 1. Raw baseline: single-row INSERTs of a resource-shaped row (same columns, unique key and GIN
 *    index as `resources`, a jsonb spec) through a `pg` pool, at CONCURRENCY, for DURATION.
 * 2. API create: `POST /v1/{plural}` of the same spec through HTTP, at the same concurrency and
 *    duration, as a user token (so authentication is on the path) → throughput, p50/p99, and the
 *    ratio to (1).
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
 * Figures go to `bench-results/write-path.json`. Environment: BENCH_CONCURRENCY (16),
 * BENCH_DURATION_MS (10000), BENCH_RATE (100), BENCH_RECONCILE_WRITES (1500),
 * BENCH_API_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), BENCH_CONTROLLER_NODE_ARGS, BENCH_KEEP_LOGS.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { streamNames } from '@tugboat/resource-model';
import pg from 'pg';
import { DATABASE_URL, NATS_URL, REPO_ROOT, waitUntil } from '../harness/cli-processes.js';
import { startBenchInstallation, type BenchInstallation } from './bench-installation.js';
import { createHttpJsonClient, type HttpJsonClient } from './http-json.js';
import { startCpuMeter, type CpuSplit } from './process-cpu.js';
import { formatTable, latencyStats, round, wallClockMs, type LatencyStats } from './latency-stats.js';

const env = process.env;
const CONCURRENCY = Number(env['BENCH_CONCURRENCY'] ?? 16);
const DURATION_MS = Number(env['BENCH_DURATION_MS'] ?? 10_000);
const WARMUP_MS = 2_000;
const RATE = Number(env['BENCH_RATE'] ?? 100);
const RECONCILE_WRITES = Number(env['BENCH_RECONCILE_WRITES'] ?? 1_500);
/** Writes at the start of the open loop left out of the figures (connections, JIT, first pulls). */
const RECONCILE_WARMUP_WRITES = Math.min(200, Math.floor(RECONCILE_WRITES / 5));
const PROJECT = 'bench';

/** Throughput kind: owned by a controller that never runs here, so only the API is measured. */
const THROUGHPUT_KIND = 'BenchWidget';
const THROUGHPUT_PLURAL = 'benchwidgets';
/** Latency kind: owned by the benchmark's controller process. */
const RECONCILE_KIND = 'BenchTask';
const RECONCILE_PLURAL = 'benchtasks';
const CONTROLLER = 'bench-controller';

const specSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['image', 'replicas'],
  properties: {
    image: { type: 'string', minLength: 1, maxLength: 512 },
    replicas: { type: 'integer', minimum: 0, maximum: 1000 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    env: { type: 'object', additionalProperties: { type: 'string' } },
    command: { type: 'array', items: { type: 'string' } },
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
const LABELS = { tier: 'web', team: 'shop', env: 'bench' };

interface ClosedLoopResult {
  operations: number;
  seconds: number;
  perSecond: number;
  latencyMs: LatencyStats;
  /** CPU per operation in the measured window (ms): load generator, API, Postgres backends. */
  cpuPerOperationMs: CpuSplit & { total: number };
}

/**
 * `concurrency` workers call `operation` back to back; the figures count the operations that
 * started after the warm-up and finished inside the measured window.
 */
async function closedLoop(
  concurrency: number,
  meter: { apiPid?: number; applicationNames: string[] },
  operation: (sequence: number) => Promise<void>,
): Promise<ClosedLoopResult> {
  const begin = wallClockMs();
  const measureFrom = begin + WARMUP_MS;
  const measureTo = measureFrom + DURATION_MS;
  const latencies: number[] = [];
  let sequence = 0;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const cpu = sleep(WARMUP_MS)
    .then(() => startCpuMeter(meter))
    .then(async (started) => {
      await sleep(measureTo - wallClockMs());
      return started.stop();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const started = wallClockMs();
        if (started >= measureTo) return;
        await operation(sequence++);
        const finished = wallClockMs();
        if (started >= measureFrom && finished <= measureTo) latencies.push(finished - started);
      }
    }),
  );
  const split = await cpu;
  const per = (ms: number) => round(ms / Math.max(1, latencies.length), 3);
  return {
    operations: latencies.length,
    seconds: DURATION_MS / 1000,
    perSecond: round(latencies.length / (DURATION_MS / 1000), 1),
    latencyMs: latencyStats(latencies),
    cpuPerOperationMs: {
      clientMs: per(split.clientMs),
      apiMs: per(split.apiMs),
      postgresMs: per(split.postgresMs),
      total: per(split.clientMs + split.apiMs + split.postgresMs),
    },
  };
}

/** The baseline: the same row shape as `resources`, one autocommitted INSERT per operation. */
async function measureRawInserts(schema: string): Promise<ClosedLoopResult> {
  const setup = new pg.Client({ connectionString: DATABASE_URL });
  await setup.connect();
  try {
    await setup.query(`create schema "${schema}"`);
    await setup.query(`
      create table "${schema}".resources (
        uid uuid primary key, kind text not null, project text not null, name text not null,
        labels jsonb not null default '{}', spec jsonb not null, secrets jsonb not null default '{}', status jsonb not null default '{}',
        generation bigint not null, resource_version bigint not null, finalizers text[] not null default '{}',
        deletion_requested_at timestamptz, created_at timestamptz not null, updated_at timestamptz not null,
        unique (kind, project, name))`);
    await setup.query(`create index on "${schema}".resources using gin (labels jsonb_path_ops)`);
  } finally {
    await setup.end();
  }
  const applicationName = `${schema}-client`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: CONCURRENCY, application_name: applicationName });
  const labels = JSON.stringify(LABELS);
  try {
    return await closedLoop(CONCURRENCY, { applicationNames: [applicationName] }, async (i) => {
      await pool.query(
        `insert into "${schema}".resources (uid, kind, project, name, labels, spec, generation, resource_version, finalizers, created_at, updated_at)
         values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, 1, $7, $8, now(), now())`,
        [randomUUID(), THROUGHPUT_KIND, PROJECT, `raw-${i}`, labels, JSON.stringify(specFor(i)), i + 1, [CONTROLLER]],
      );
    });
  } finally {
    await pool.end();
  }
}

async function measureApiCreates(installation: BenchInstallation, client: HttpJsonClient): Promise<ClosedLoopResult & { failures: number }> {
  let failures = 0;
  let firstFailure = '';
  const meter = { apiPid: installation.api.child.pid!, applicationNames: [installation.apiApplicationName] };
  const result = await closedLoop(CONCURRENCY, meter, async (i) => {
    const answer = await client.send('POST', `/v1/${THROUGHPUT_PLURAL}`, { metadata: { name: `w-${i}`, project: PROJECT, labels: LABELS }, spec: specFor(i) });
    if (answer.status !== 201) {
      failures += 1;
      firstFailure ||= `${answer.status} ${JSON.stringify(answer.body)}`;
    }
  });
  if (failures > 0) throw new Error(`${failures} creates failed, first: ${firstFailure}`);
  return { ...result, failures };
}

async function outboxBacklog(schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`select count(*)::text as n from "${schema}".outbox`);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
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

  // Open loop: write i is due at start + i / RATE, whether or not earlier writes have answered.
  const writes: WriteRecord[] = [];
  const inFlight: Array<Promise<void>> = [];
  const intervalMs = 1000 / RATE;
  const start = wallClockMs() + 20;
  let writerLagMs = 0;
  for (let i = 0; i < RECONCILE_WRITES; i += 1) {
    const due = start + i * intervalMs;
    const wait = due - wallClockMs();
    if (wait > 0.5) await new Promise((resolve) => setTimeout(resolve, wait));
    writerLagMs = Math.max(writerLagMs, wallClockMs() - due);
    const name = `t-${i}`;
    const sentAt = wallClockMs();
    inFlight.push(
      client.send('POST', `/v1/${RECONCILE_PLURAL}`, { metadata: { name, project: PROJECT, labels: LABELS }, spec: specFor(i) }).then((answer) => {
        const answeredAt = wallClockMs();
        if (answer.status !== 201) throw new Error(`create ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
        const createdAt = Date.parse((answer.body as { metadata: { createdAt: string } }).metadata.createdAt);
        if (i >= RECONCILE_WARMUP_WRITES) writes.push({ name, sentAt, answeredAt, createdAt });
      }),
    );
  }
  await Promise.all(inFlight);

  const started = new Map<string, number>();
  const leased = new Map<string, number>();
  await waitUntil(
    async () => {
      for (const line of await readLog()) {
        if (line.type === 'start' && line.generation === 1 && !started.has(line.name!)) started.set(line.name!, line.at);
        if (line.type === 'lease' && !leased.has(line.name!)) leased.set(line.name!, line.at);
      }
      return writes.every((write) => started.has(write.name) && leased.has(write.name));
    },
    `every object to be reconciled (log in ${reconcileLog})`,
    60_000,
  );
  subscription.unsubscribe();
  await nc.close();

  const byName = (map: Map<string, number>, name: string) => map.get(name)!;
  const missingPublish = writes.filter((write) => !published.has(write.name)).length;
  if (missingPublish > 0) throw new Error(`${missingPublish} changes were never seen on the bus`);
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
  const leaseBucket = `KV_${streamNames(installation.prefix).eventsStream.replace(/_EVENTS$/, '')}_LEASES_${CONTROLLER}`;
  try {
    const admin = createHttpJsonClient({ port: installation.port, token: installation.adminToken, maxSockets: 2 });
    for (const [kind, plural, controller] of [
      [THROUGHPUT_KIND, THROUGHPUT_PLURAL, 'bench-idle-controller'],
      [RECONCILE_KIND, RECONCILE_PLURAL, CONTROLLER],
    ] as const) {
      const answer = await admin.send('POST', '/v1/kinds', { kind, plural, scope: 'Project', controller, schema: specSchema });
      if (answer.status !== 201) throw new Error(`register ${kind}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    const tokenOf = async (name: string, type: 'user' | 'controller') => {
      const answer = await admin.send('POST', '/v1/tokens', { name, type });
      if (answer.status !== 201) throw new Error(`token ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return (answer.body as { token: string }).token;
    };
    const writerToken = await tokenOf('bench-writer', 'user');
    const controllerToken = await tokenOf(CONTROLLER, 'controller');
    admin.close();
    const writer = createHttpJsonClient({ port: installation.port, token: writerToken, maxSockets: CONCURRENCY });

    console.log(`write-path: load average ${loadBefore.join(' ')}; concurrency ${CONCURRENCY}, ${DURATION_MS} ms after ${WARMUP_MS} ms warm-up; ${RECONCILE_WRITES} writes at ${RATE}/s`);
    const raw = await measureRawInserts(rawSchema);
    console.log(`  raw INSERT done: ${raw.perSecond}/s, CPU ms/op ${JSON.stringify(raw.cpuPerOperationMs)}`);
    const api = await measureApiCreates(installation, writer);
    console.log(`  API create done: ${api.perSecond}/s, CPU ms/op ${JSON.stringify(api.cpuPerOperationMs)}`);
    await waitUntil(async () => (await outboxBacklog(installation.schema)) === 0, 'the relay to publish the backlog', 60_000);
    const reconcile = await measureCommitToReconcile(installation, writer, controllerToken);
    writer.close();

    const ratio = round((api.perSecond / raw.perSecond) * 100, 1);
    // What the ratio would be if the machine did nothing else: CPU per raw INSERT / CPU per API create.
    const cpuRatio = round((raw.cpuPerOperationMs.total / api.cpuPerOperationMs.total) * 100, 1);
    const figures = {
      benchmark: 'write-path',
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: loadavg().map((value) => round(value)) },
      config: { concurrency: CONCURRENCY, durationMs: DURATION_MS, warmupMs: WARMUP_MS, rate: RATE, reconcileWrites: RECONCILE_WRITES, reconcileWarmupWrites: RECONCILE_WARMUP_WRITES },
      rawInsert: raw,
      apiCreate: api,
      apiToRawPercent: ratio,
      apiToRawPercentByCpu: cpuRatio,
      commitToReconcile: reconcile,
      targets: {
        commitToReconcileP99Ms: { target: 25, actual: reconcile.commitToReconcileMs.p99, met: reconcile.commitToReconcileMs.p99 <= 25 },
        apiToRawPercent: { target: 40, actual: ratio, met: ratio >= 40 },
      },
    };

    const ms = (s: LatencyStats) => [s.p50, s.p90, s.p99, s.max];
    console.log('');
    console.log(
      formatTable(
        ['measure', 'ops/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
        [
          [`raw INSERT, pg pool of ${CONCURRENCY}`, raw.perSecond, ...ms(raw.latencyMs)],
          [`API create, ${CONCURRENCY} concurrent`, api.perSecond, ...ms(api.latencyMs)],
          [`API create at ${RATE}/s (open loop)`, RATE, ...ms(reconcile.createLatencyMs)],
          ['commit -> reconcile start', RATE, ...ms(reconcile.commitToReconcileMs)],
          ['  201 answer -> reconcile start', RATE, ...ms(reconcile.answerToReconcileMs)],
          ['  commit -> on the bus (relay)', RATE, ...ms(reconcile.commitToPublishMs)],
          ['  on the bus -> reconcile start (SDK)', RATE, ...ms(reconcile.publishToReconcileMs)],
          ['    on the bus -> lease held', RATE, ...ms(reconcile.publishToLeaseMs)],
          ['    lease held -> reconcile start (GET)', RATE, ...ms(reconcile.leaseToReconcileMs)],
        ],
      ),
    );
    console.log('');
    const cpu = (c: ClosedLoopResult['cpuPerOperationMs']) => [c.clientMs, c.apiMs, c.postgresMs, c.total];
    console.log(
      formatTable(
        ['CPU ms per operation', 'client', 'API', 'postgres', 'total'],
        [
          ['raw INSERT', ...cpu(raw.cpuPerOperationMs)],
          ['API create', ...cpu(api.cpuPerOperationMs)],
          ['raw / API', '', '', '', `${cpuRatio} %`],
        ],
      ),
    );
    console.log('');
    console.log(
      formatTable(
        ['target', 'wanted', 'actual', 'met'],
        [
          ['API create / raw INSERT', '>= 40 %', `${ratio} %`, figures.targets.apiToRawPercent.met ? 'yes' : 'no'],
          ['commit -> reconcile start p99', '<= 25 ms', `${reconcile.commitToReconcileMs.p99} ms`, figures.targets.commitToReconcileP99Ms.met ? 'yes' : 'no'],
        ],
      ),
    );
    const resultsDir = join(REPO_ROOT, 'bench-results');
    await mkdir(resultsDir, { recursive: true });
    const file = join(resultsDir, 'write-path.json');
    await writeFile(file, `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`\nfigures written to ${file}`);
  } catch (error) {
    console.error(`API output (tail):\n${await installation.api.tail()}`);
    throw error;
  } finally {
    await installation.close({ extraSchemas: [rawSchema], extraStreams: [leaseBucket] });
  }
}

await main();
