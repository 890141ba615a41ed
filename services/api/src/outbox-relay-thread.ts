/**
 * The outbox relay on its own thread (a worker), with its own database session and NATS
 * connection: its reads, publishes and acknowledgements no longer share the event loop that
 * answers requests. Under load the relay was about a tenth of the API's main thread, and a burst of
 * publishes delayed the GETs queued behind it (and the other way round); see e2e/src/bench/README.md.
 *
 * The relay itself is `outbox-relay.ts`, unchanged: the worker (`outbox-relay-worker.ts`) runs it and
 * this side mirrors it as an `OutboxRelay` (start, stop, wake, active, published), feeding the API's
 * metrics from what the worker reports after each pass. A worker that ends on its own (it should
 * not) is logged and started again. Only for Postgres: embedded PGlite lives in this thread's memory,
 * so with it the relay runs in-process (`createOutboxRelay`).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { OutboxRelay, RelayMetrics } from './outbox-relay.js';

/** What the worker needs to run the relay: plain data, handed over as `workerData`. */
export interface RelayThreadData {
  databaseUrl: string;
  schema: string;
  natsUrl: string;
  logLevel: string;
  pollIntervalMs?: number;
  standbyRetryMs?: number;
  batchSize?: number;
  /**
   * One Int32 shared with the host: 1 while a wake-up is on its way. The host posts a wake-up only
   * when it sets it from 0, the thread sets it back to 0 as it takes one: commits that come faster
   * than the thread takes them cost one message, not one each.
   */
  wakePending?: SharedArrayBuffer;
}

/** Worker → host. */
export type RelayThreadReport =
  | { type: 'active'; active: boolean }
  | { type: 'pass'; published: number; failures: number; commitToPublishSeconds: number[] }
  | { type: 'stopped' };

/** Host → worker. */
export type RelayThreadCommand = { type: 'wake' } | { type: 'stop' };

export interface RelayThreadOptions {
  data: RelayThreadData;
  logger: Logger;
  metrics?: RelayMetrics;
  /** Wait before a worker that ended on its own is started again. Default 1000 ms. */
  restartDelayMs?: number;
}

/**
 * The worker, beside this module. Built, it is `outbox-relay-worker.js`. Run from sources (tsx, as
 * in development and the e2e tests), Node 20 does not hand tsx's loader to a worker: a small
 * bootstrap registers it first, then imports the `.ts` entry.
 */
function workerOf(data: RelayThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./outbox-relay-worker.js', import.meta.url), { workerData: data });
  const bootstrap = `
    const { workerData } = require('node:worker_threads');
    import(workerData.tsxApi).then(({ register }) => { register(); return import(workerData.entry); });`;
  const source = { tsxApi: import.meta.resolve('tsx/esm/api'), entry: new URL('./outbox-relay-worker.ts', import.meta.url).href };
  return new Worker(bootstrap, { eval: true, workerData: { ...data, ...source } });
}

export function createOutboxRelayThread(options: RelayThreadOptions): OutboxRelay {
  const logger = options.logger.child({ component: 'outbox-relay' });
  const restartDelayMs = options.restartDelayMs ?? 1000;
  let worker: Worker | undefined;
  let exited: Promise<void> | undefined;
  let stopping = false;
  let active = false;
  let published = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const wakePending = new Int32Array(new SharedArrayBuffer(4));

  function report(message: RelayThreadReport): void {
    if (message.type === 'active') active = message.active;
    else if (message.type === 'pass') {
      published += message.published;
      if (message.published > 0) options.metrics?.published.inc(message.published);
      if (message.failures > 0) options.metrics?.publishFailures.inc(message.failures);
      for (const seconds of message.commitToPublishSeconds) options.metrics?.commitToPublishSeconds.observe(seconds);
    }
  }

  function spawnWorker(): void {
    Atomics.store(wakePending, 0, 0);
    const started = workerOf({ ...options.data, wakePending: wakePending.buffer as SharedArrayBuffer });
    worker = started;
    started.on('message', report);
    started.on('error', (error) => logger.error({ err: error.message }, 'relay thread failed'));
    exited = new Promise<void>((resolve) => {
      started.once('exit', (code) => {
        active = false;
        if (worker === started) worker = undefined;
        resolve();
        if (stopping) return;
        logger.error({ code }, 'relay thread ended on its own; starting it again');
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          if (!stopping) spawnWorker();
        }, restartDelayMs);
      });
    });
  }

  function send(command: RelayThreadCommand): void {
    worker?.postMessage(command);
  }

  return {
    start() {
      if (!worker && !stopping) spawnWorker();
    },
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      if (!worker) return;
      send({ type: 'stop' });
      const ending = worker;
      // The worker ends itself once the relay released its lock; past 10 s it is ended from here.
      const timer = setTimeout(() => void ending.terminate(), 10_000);
      await exited;
      clearTimeout(timer);
    },
    get active() {
      return active;
    },
    get published() {
      return published;
    },
    wake() {
      if (Atomics.exchange(wakePending, 0, 1) === 0) send({ type: 'wake' });
    },
  };
}
