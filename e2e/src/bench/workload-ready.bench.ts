/**
 * Time to Ready for many WorkloadInstances (issue 9), and how it scales from one to two
 * workload-controller replicas, and each controller's peak memory. Three runs:
 *
 * - time to Ready: one replica at BENCH_WORKLOAD_CONCURRENCY (16) reconciles at once, as many as
 *   the machine takes (target: 1,000 in ≤ 20 s);
 * - scaling: one, then two replicas (BENCH_WORKLOAD_REPLICAS, `1,2`) at BENCH_SCALING_CONCURRENCY
 *   (1) each: few enough that each replica's own round trips bound it, so the figure is the
 *   controller being scaled and not the two cores that every process of this bench shares (at 16,
 *   one replica already fills them and a second only adds contention; target: ≥ 1.6×).
 *
 * Per replica count, a fresh installation: the API, the sandbox (one Kubernetes cluster), the
 * cluster-controller, and N workload-controller processes. The sandbox's cluster is registered
 * and brought Ready; then every Kubernetes request of the sandbox gets a fixed latency (a network
 * round trip, BENCH_KUBE_LATENCY_MS, 20 ms) so the controllers' own concurrency — fixed per
 * replica and printed — is what bounds the rate, not the machine's two shared cores. Then WORKLOADS
 * instances of one container definition are created through the API (batches of 50 per apply, 4
 * applies in flight: BENCH_CREATE_PARALLEL);
 * the clock runs from the first create to the moment the last instance reads `Ready` at its
 * generation (the API's list, polled every second, every 200 ms once 95 % are Ready). Memory: the peak resident set of each
 * controller process, sampled from /proc every 250 ms.
 *
 * The sandbox runs at BENCH_SANDBOX_TIME_SCALE (20×): a pod's simulated 5 s start takes 250 ms, so
 * the figure is the controllers' work and the rollout a real cluster would add is left out.
 *
 * The workload-controllers run built (`pnpm build` first), as deployed: `node --max-old-space-size=128
 * dist/main.js` (the heap cap of deploy/kubernetes/workload-controller.yaml).
 *
 * Figures go to `bench-results/workload-ready.json`. Environment: BENCH_WORKLOADS (1000),
 * BENCH_WORKLOADS_LARGE=1 (also 10,000 with one replica, for memory), BENCH_WORKLOAD_REPLICAS
 * (`1,2`; empty: no scaling runs), BENCH_WORKLOAD_CONCURRENCY (16), BENCH_SCALING_CONCURRENCY (1), BENCH_KUBE_LATENCY_MS
 * (20), BENCH_SANDBOX_TIME_SCALE (20), BENCH_CONTROLLER_NODE_ARGS (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` for the workload-controllers), BENCH_SANDBOX_NODE_ARGS, BENCH_API_NODE_ARGS,
 * BENCH_KEEP_LOGS.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { freePort, REPO_ROOT, waitUntil } from '../harness/cli-processes.js';
import { startBenchInstallation, waitHealthy, type BenchInstallation, type BenchProcess } from './bench-installation.js';
import { formatTable, round } from './latency-stats.js';
import { findNatsServerPid, startCpuMeter } from './process-cpu.js';

const env = process.env;
const WORKLOADS = Number(env['BENCH_WORKLOADS'] ?? 1000);
const LARGE = env['BENCH_WORKLOADS_LARGE'] === '1';
const REPLICAS = (env['BENCH_WORKLOAD_REPLICAS'] ?? '1,2').split(',').filter((count) => count !== '').map(Number);
/** Reconciles at once per replica in the time-to-Ready run (one replica): as many as the machine takes. */
const CONCURRENCY = Number(env['BENCH_WORKLOAD_CONCURRENCY'] ?? 16);
/**
 * Reconciles at once per replica in the scaling runs (BENCH_WORKLOAD_REPLICAS): few enough that a
 * replica's own round trips (20 ms each) bound it, not the two cores every process here shares.
 */
const SCALING_CONCURRENCY = Number(env['BENCH_SCALING_CONCURRENCY'] ?? 1);
const KUBE_LATENCY_MS = Number(env['BENCH_KUBE_LATENCY_MS'] ?? 20);
const TIME_SCALE = Number(env['BENCH_SANDBOX_TIME_SCALE'] ?? 20);
const SANDBOX_NODE_ARGS = (env['BENCH_SANDBOX_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
const API_NODE_ARGS = (env['BENCH_API_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
/** As deploy/kubernetes/workload-controller.yaml runs it (NODE_OPTIONS), plus BENCH_CONTROLLER_NODE_ARGS. */
const CONTROLLER_NODE_ARGS = ['--max-old-space-size=128', ...(env['BENCH_CONTROLLER_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '')];
const CREATE_BATCH = 50;
/** Applies in flight at once while the instances are created. */
const CREATE_PARALLEL = Number(env['BENCH_CREATE_PARALLEL'] ?? 4);
const PROJECT = 'bench';

interface RunFigures {
  workloads: number;
  replicas: number;
  concurrencyPerReplica: number;
  kubeLatencyMs: number;
  createSeconds: number;
  readySeconds: number;
  readyPerSecond: number;
  peakRssMiB: number[];
  /** Per controller, from its /metrics at the end: reconciles by outcome and their mean duration. */
  reconciles: Array<{ outcomes: Record<string, number>; meanMs: number }>;
  /**
   * CPU per instance (ms) of each process from the first create to the last Ready: the API, its
   * Postgres backends, NATS (shared: an upper bound), the sandbox, the controllers, and this
   * benchmark (creating, then listing once a second).
   */
  cpuMsPerInstance: Record<string, number>;
}

/** Reconciles by outcome and mean reconcile duration, from a controller's Prometheus metrics. */
async function reconcileFigures(port: number): Promise<{ outcomes: Record<string, number>; meanMs: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const outcomes: Record<string, number> = {};
  for (const match of text.matchAll(/^tugboat_controller_reconciles_total\{[^}]*outcome="([^"]+)"[^}]*\} (\d+)/gm)) outcomes[match[1]!] = Number(match[2]);
  // Summed over every outcome's series (the apply that requeues and the read that finds it Ready differ).
  const total = (series: string) => [...text.matchAll(new RegExp(`^tugboat_controller_reconcile_duration_seconds_${series}(?:\\{[^}]*\\})? ([\\d.e+-]+)`, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0);
  const sum = total('sum');
  const count = total('count');
  return { outcomes, meanMs: count === 0 ? 0 : round((sum / count) * 1000, 1) };
}

/** Peak resident set size of each process, sampled until stopped. */
function startRssSampler(processes: readonly BenchProcess[]) {
  const peaks = processes.map(() => 0);
  const sample = async () => {
    await Promise.all(
      processes.map(async (started, index) => {
        const status = await readFile(`/proc/${started.child.pid}/status`, 'utf8').catch(() => '');
        const kib = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        peaks[index] = Math.max(peaks[index]!, kib / 1024);
      }),
    );
  };
  const timer = setInterval(() => void sample(), 250);
  return {
    async stop() {
      clearInterval(timer);
      await sample();
      return peaks.map((peak) => round(peak, 1));
    },
  };
}

async function countReady(admin: ApiClient): Promise<number> {
  let ready = 0;
  for await (const item of admin.listAll('WorkloadInstance', { project: PROJECT, limit: 500 })) {
    if (item.status?.phase === 'Ready' && item.status.observedGeneration === item.metadata.generation) ready += 1;
  }
  return ready;
}

async function runOnce(workloads: number, replicas: number, concurrency: number): Promise<RunFigures> {
  const installation: BenchInstallation = await startBenchInstallation({ apiNodeArgs: API_NODE_ARGS });
  const stateDir = await mkdtemp(join(tmpdir(), 'tugboat-bench-sandbox-'));
  try {
    const sandboxPort = await freePort();
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    // Built, as every measured process is (`node dist/main.js`; the runner builds first).
    const sandbox = installation.spawnJs('sandbox', 'services/sandbox/dist/main.js', { LOG_LEVEL: env['BENCH_SANDBOX_LOG_LEVEL'] ?? 'warn' }, SANDBOX_NODE_ARGS, [
      '--port',
      String(sandboxPort),
      '--state-dir',
      stateDir,
      '--time-scale',
      String(TIME_SCALE),
    ]);
    await waitHealthy(`${sandboxUrl}/_sandbox/healthz`, sandbox, 'the sandbox');
    const admin = createApiClient({ baseUrl: installation.apiUrl, token: installation.adminToken });
    const controllerEnv = async (controller: string, replica: string) => {
      const token = await admin.createToken({ name: `${controller}-${replica}`, type: 'controller', controller });
      const port = await freePort();
      return {
        port,
        env: {
          TUGBOAT_URL: installation.apiUrl,
          TUGBOAT_TOKEN: token.token,
          TUGBOAT_NATS_PREFIX: installation.prefix,
          TUGBOAT_REPLICA_ID: `${controller}-${replica}`,
          NATS_URL: env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222',
          PORT: String(port),
          LOG_LEVEL: 'warn',
        },
      };
    };
    const cluster = await controllerEnv('cluster-controller', '0');
    const clusterController = installation.spawnJs('cluster-controller', 'services/cluster-controller/dist/main.js', cluster.env);
    await waitHealthy(`http://127.0.0.1:${cluster.port}/readyz`, clusterController, 'the cluster-controller');
    const controllers: BenchProcess[] = [];
    const metricsPorts: number[] = [];
    for (let replica = 0; replica < replicas; replica++) {
      const started = await controllerEnv('workload-controller', String(replica));
      // Built, as deployed (`node dist/main.js`): run from sources, tsx's loader would be part of the memory figure.
      const controller = installation.spawnJs(
        `workload-controller-${replica}`,
        'services/workload-controller/dist/main.js',
        { ...started.env, WORKLOAD_CONCURRENCY: String(concurrency) },
        CONTROLLER_NODE_ARGS,
      );
      await waitHealthy(`http://127.0.0.1:${started.port}/readyz`, controller, `workload-controller ${replica}`);
      controllers.push(controller);
      metricsPorts.push(started.port);
    }

    const kubeconfig = await readFile(join(stateDir, 'kubeconfig'), 'utf8');
    await admin.apply([
      { kind: 'Project', metadata: { name: PROJECT }, spec: {} },
      { kind: 'ClusterDefinition', metadata: { name: 'local' }, spec: { provider: 'kubeconfig' } },
      { kind: 'ClusterInstance', metadata: { name: 'local' }, spec: { definitionRef: { name: 'local' }, kubeconfig, defaultFor: [PROJECT] } },
      {
        kind: 'WorkloadDefinition',
        metadata: { name: 'web' },
        spec: { container: { image: 'nginx:1.27', ports: [{ port: 80 }], replicas: 1 }, overridable: ['env'] },
      },
    ]);
    await waitUntil(
      async () => (await admin.get({ kind: 'ClusterInstance', name: 'local' }))?.status?.phase === 'Ready',
      `the sandbox cluster to be Ready (cluster-controller log: ${await clusterController.tail()})`,
      60_000,
    );
    const fault = await fetch(`${sandboxUrl}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'kube', latencyMs: KUBE_LATENCY_MS }),
    });
    if (!fault.ok) throw new Error(`the sandbox refused the latency rule: ${fault.status} ${await fault.text()}`);

    const memory = startRssSampler(controllers);
    const meter = await startCpuMeter({
      apiPid: installation.api.child.pid,
      natsPid: await findNatsServerPid(Number(new URL(env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222').port || 4222)),
      applicationNames: [installation.apiApplicationName],
      others: {
        sandbox: sandbox.child.pid,
        'cluster-controller': clusterController.child.pid,
        ...Object.fromEntries(controllers.map((controller, index) => [`workload-controller-${index}`, controller.child.pid])),
      },
    });
    const started = performance.now();
    // Several applies in flight, as a pipeline applying many manifests would: one at a time, the
    // creates' round trips (not the controllers) would set the pace of the whole run.
    const batches: Array<Array<{ kind: string; metadata: { name: string; project: string }; spec: { definitionRef: { name: string } } }>> = [];
    for (let from = 0; from < workloads; from += CREATE_BATCH) {
      const batch = [];
      for (let index = from; index < Math.min(workloads, from + CREATE_BATCH); index++) {
        batch.push({ kind: 'WorkloadInstance', metadata: { name: `w-${index}`, project: PROJECT }, spec: { definitionRef: { name: 'web' } } });
      }
      batches.push(batch);
    }
    await Promise.all(
      Array.from({ length: CREATE_PARALLEL }, async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) await admin.apply(batch);
      }),
    );
    const created = performance.now();
    // Listing every instance costs the API (and so the shared cores) something: once a second.
    const deadline = Date.now() + Math.max(600_000, workloads * 200);
    let readyCount = 0;
    while ((readyCount = await countReady(admin)) < workloads) {
      if (Date.now() > deadline) throw new Error(`only ${readyCount} of ${workloads} WorkloadInstances Ready in time; controller log: ${await controllers[0]!.tail()}`);
      // Once a second; every 200 ms for the last 5 %, so the clock stops within 200 ms of the last Ready.
      await new Promise((resolve) => setTimeout(resolve, readyCount >= workloads * 0.95 ? 200 : 1000));
    }
    const ready = performance.now();
    const cpu = await meter.stop();
    const perInstance = (ms: number) => round(ms / workloads, 2);
    const cpuMsPerInstance: Record<string, number> = {
      api: perInstance(cpu.apiMs),
      postgres: perInstance(cpu.postgresMs),
      nats: perInstance(cpu.natsMs),
      ...Object.fromEntries(Object.entries(cpu.othersMs).map(([name, ms]) => [name, perInstance(ms)])),
      bench: perInstance(cpu.clientMs),
    };
    cpuMsPerInstance['total'] = round(Object.values(cpuMsPerInstance).reduce((sum, ms) => sum + ms, 0), 2);
    const peakRssMiB = await memory.stop();
    const reconciles = await Promise.all(metricsPorts.map((port) => reconcileFigures(port)));
    const readySeconds = round((ready - started) / 1000, 1);
    const figures: RunFigures = {
      workloads,
      replicas,
      concurrencyPerReplica: concurrency,
      kubeLatencyMs: KUBE_LATENCY_MS,
      createSeconds: round((created - started) / 1000, 1),
      readySeconds,
      readyPerSecond: round(workloads / readySeconds, 1),
      peakRssMiB,
      reconciles,
      cpuMsPerInstance,
    };
    console.log(
      `${workloads} workloads, ${replicas} replica(s), concurrency ${concurrency} each: Ready in ${readySeconds} s; peak RSS ${peakRssMiB.join(' / ')} MiB; reconciles ${reconciles
        .map((r) => `${JSON.stringify(r.outcomes)} mean ${r.meanMs} ms`)
        .join(' / ')}; CPU ms per instance ${JSON.stringify(cpuMsPerInstance)}`,
    );
    return figures;
  } finally {
    await installation.close({});
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs: RunFigures[] = [];
  const loadBefore = loadavg()[0]!;
  // Time to Ready: one replica, as many reconciles at once as the machine takes.
  const fastest = await runOnce(WORKLOADS, 1, CONCURRENCY);
  runs.push(fastest);
  // Scaling: the same work with 1 and 2 replicas at a concurrency that makes each replica the bottleneck.
  const scaling: RunFigures[] = [];
  for (const replicas of REPLICAS) scaling.push(await runOnce(WORKLOADS, replicas, SCALING_CONCURRENCY));
  runs.push(...scaling);
  if (LARGE) runs.push(await runOnce(10_000, 1, CONCURRENCY));
  const one = scaling.find((run) => run.replicas === 1);
  const two = scaling.find((run) => run.replicas === 2);
  const ratio = one && two ? round(one.readySeconds / two.readySeconds, 2) : undefined;
  console.log(
    formatTable(
      ['workloads', 'replicas', 'concurrency/replica', 'kube latency ms', 'create s', 'to Ready s', 'Ready/s', 'peak RSS MiB per controller'],
      runs.map((run) => [run.workloads, run.replicas, run.concurrencyPerReplica, run.kubeLatencyMs, run.createSeconds, run.readySeconds, run.readyPerSecond, run.peakRssMiB.join(' / ')]),
    ),
  );
  console.log(`one replica at concurrency ${CONCURRENCY}: ${WORKLOADS} Ready in ${fastest.readySeconds} s (target ≤ 20 s)`);
  if (ratio !== undefined) console.log(`two replicas / one at concurrency ${SCALING_CONCURRENCY} per replica: ${ratio}× (target ≥ 1.6×)`);
  const resultsDir = join(REPO_ROOT, 'bench-results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(
    join(resultsDir, 'workload-ready.json'),
    `${JSON.stringify({ runs, ratio, scalingConcurrency: SCALING_CONCURRENCY, loadBefore, loadAfter: loadavg()[0] }, null, 2)}\n`,
  );
}

await main();
