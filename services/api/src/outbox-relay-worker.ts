/**
 * The worker entry of `outbox-relay-thread.ts`: opens its own database session and NATS connection,
 * runs `createOutboxRelay` and reports to the host after each pass. Armed test kill points apply
 * here as in the main thread (a kill ends the whole process).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { openDatabase } from './database.js';
import { testKillPointFromEnv } from './kill-point.js';
import { createOutboxRelay } from './outbox-relay.js';
import type { RelayThreadCommand, RelayThreadData, RelayThreadReport } from './outbox-relay-thread.js';

if (!parentPort) throw new Error('outbox-relay-worker runs as a worker thread of the API');
const port = parentPort;
const data = workerData as RelayThreadData;
const tell = (message: RelayThreadReport) => port.postMessage(message);
// Straight to the process's stdout, asynchronously: not through the host thread.
const logger = pino({ base: { service: 'api' }, level: data.logLevel }, pino.destination({ dest: 1, sync: false }));

const database = await openDatabase({ databaseUrl: data.databaseUrl, schema: data.schema, poolSize: 1, onConnectionError: (error) => logger.warn({ err: error.message }, 'relay database connection ended') });
const nats = await connect({ servers: data.natsUrl, name: `tugboat-api-relay-${process.pid}`, waitOnFirstConnect: true, maxReconnectAttempts: -1, noAsyncTraces: true });

// Counted per pass, reported once the pass is over: one message per pass, not per row.
let pass: { published: number; failures: number; commitToPublishSeconds: number[] } = { published: 0, failures: 0, commitToPublishSeconds: [] };
const flush = () => {
  if (pass.published === 0 && pass.failures === 0 && pass.commitToPublishSeconds.length === 0) return;
  tell({ type: 'pass', ...pass });
  pass = { published: 0, failures: 0, commitToPublishSeconds: [] };
};
let reportScheduled = false;
const scheduleReport = () => {
  if (reportScheduled) return;
  reportScheduled = true;
  setImmediate(() => {
    reportScheduled = false;
    flush();
  });
};

const relay = createOutboxRelay({
  database,
  js: jetstream(nats),
  logger,
  killPoint: testKillPointFromEnv(process.env).killPoint,
  metrics: {
    published: { inc: (value) => ((pass.published += value), scheduleReport()) },
    publishFailures: { inc: (value) => ((pass.failures += value), scheduleReport()) },
    commitToPublishSeconds: { observe: (seconds) => (pass.commitToPublishSeconds.push(seconds), scheduleReport()) },
  },
  onActive: (active) => tell({ type: 'active', active }),
  ...(data.pollIntervalMs ? { pollIntervalMs: data.pollIntervalMs } : {}),
  ...(data.standbyRetryMs ? { standbyRetryMs: data.standbyRetryMs } : {}),
  ...(data.batchSize ? { batchSize: data.batchSize } : {}),
});

const wakePending = data.wakePending ? new Int32Array(data.wakePending) : undefined;
port.on('message', (command: RelayThreadCommand) => {
  if (command.type === 'wake') {
    // Cleared before the relay looks: a commit after this posts a new wake-up.
    if (wakePending) Atomics.store(wakePending, 0, 0);
    relay.wake();
  }
  else if (command.type === 'stop') void stop();
});

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  return (stopping ??= (async () => {
    await relay.stop();
    flush();
    await nats.drain().catch(() => undefined);
    await database.close();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    // Ends this thread only; whatever a library still holds open (a loader's port, a timer) would keep it.
    process.exit(0);
  })());
}

relay.start();
