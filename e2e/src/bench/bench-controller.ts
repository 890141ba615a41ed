/**
 * The controller process of the commit-to-reconcile benchmark: owns one custom kind, does no work
 * in reconcile (the SDK then writes status `Ready`), and records when each reconcile began, with a
 * sub-millisecond wall clock the benchmark compares with the API's commit times (same machine).
 *
 * Lines go to `RECONCILE_LOG` as JSON, buffered and appended every 100 ms, so the file write does
 * not sit on the path it measures: `{ type: 'ready' }`, then `{ type: 'start', name, generation, at }`
 * when reconcile is entered and `{ type: 'lease', name, at }` (from the SDK's report, ms) when the
 * lease on the object was held, before the SDK read the object, and `{ type: 'done', name, at }` (ms)
 * when that reconcile ended (status written).
 */
import { appendFile } from 'node:fs/promises';
import { defineController, runController } from '@tugboat/controller-sdk';
import { wallClockMs } from './latency-stats.js';

const env = process.env;
const logFile = env['RECONCILE_LOG'];
const kind = env['BENCH_KIND'];
const controllerName = env['BENCH_CONTROLLER'];
if (!logFile || !kind || !controllerName) throw new Error('RECONCILE_LOG, BENCH_KIND and BENCH_CONTROLLER are required');

let pending: string[] = [];
async function flush(): Promise<void> {
  if (pending.length === 0) return;
  const lines = pending.join('');
  pending = [];
  await appendFile(logFile!, lines);
}
const flusher = setInterval(() => void flush(), 100);

const controller = defineController({
  name: controllerName,
  owns: kind,
  concurrency: Number(env['BENCH_CONTROLLER_CONCURRENCY'] ?? 8),
  reconcile(_ctx, obj) {
    pending.push(`${JSON.stringify({ type: 'start', name: obj.metadata.name, generation: obj.metadata.generation, at: wallClockMs() })}\n`);
  },
});

const running = await runController(controller, {
  apiUrl: env['TUGBOAT_API_URL']!,
  token: env['TUGBOAT_TOKEN']!,
  natsUrl: env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
  prefix: env['TUGBOAT_NATS_PREFIX'] ?? 'tugboat',
  replicaId: 'bench',
  logLevel: 'warn',
  handleSignals: false,
  // When the SDK held the lease (before it read the object): splits the SDK's share of the latency.
  onReconcile: (report) => {
    if (report.generation !== 1) return;
    pending.push(`${JSON.stringify({ type: 'lease', name: report.key.name, at: report.startedAt })}\n`);
    // When the reconcile (status write included) ended: with the lease time, how long one object
    // held a worker, and how many objects the controller finished per second while the writer wrote.
    pending.push(`${JSON.stringify({ type: 'done', name: report.key.name, at: report.finishedAt })}\n`);
  },
});
pending.push(`${JSON.stringify({ type: 'ready', at: wallClockMs() })}\n`);

process.once('SIGTERM', () => {
  void (async () => {
    await running.shutdown();
    clearInterval(flusher);
    await flush();
    process.exit(0);
  })();
});
