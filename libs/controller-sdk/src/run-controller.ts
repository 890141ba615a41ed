import { hostname } from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createApiClient, createNodeHttpFetch } from '@tugboat/api-client';
import { pino } from 'pino';
import { createControllerRunner, type ControllerRunner, type ControllerRunnerOptions } from './controller-runner.js';
import { controllerParts, type RunnableController } from './controller-parts.js';
import { settlesWithin } from './settles-within.js';

export interface RunControllerOptions extends Omit<ControllerRunnerOptions, 'api' | 'nats'> {
  apiUrl: string;
  /** The controller identity's token (`POST /v1/tokens` with `type: controller`). */
  token: string;
  natsUrl: string | string[];
  /** Level of the default JSON logger when no `logger` is given. Default `info`. */
  logLevel?: string;
  /** Stop gracefully on SIGTERM and SIGINT. Default true. */
  handleSignals?: boolean;
}

export interface RunningController {
  runner: ControllerRunner;
  nats: NatsConnection;
  /** Stops the runner, then drains the NATS connection. */
  shutdown(): Promise<void>;
}

/**
 * What a controller's `main.ts` calls: connects to the API and NATS, starts the runner, and on
 * SIGTERM stops pulling, lets running reconciles finish, releases leases and drains NATS. Takes
 * one declaration, or several of one controller identity (one per owned kind).
 */
export async function runController(
  declarations: RunnableController,
  options: RunControllerOptions,
): Promise<RunningController> {
  // Refused before anything connects.
  const { name } = controllerParts(declarations);
  const replicaId = options.replicaId ?? hostname();
  const logger = options.logger ?? pino({ level: options.logLevel ?? 'info' });
  // node:http with a keep-alive agent rather than the global fetch: a controller's requests are many
  // and small, and fetch's per-request machinery showed in its CPU profile.
  const api = createApiClient({ baseUrl: options.apiUrl, token: options.token, userAgent: `${name}/${replicaId}`, fetch: createNodeHttpFetch() });
  const nats = await connect({
    servers: options.natsUrl,
    name: `${name}/${replicaId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // Otherwise nats.js captures a stack for every request (each lease take and release) in case
    // it fails: about 1 % of a busy controller's time (CPU profile of the workload benchmark).
    noAsyncTraces: true,
  });
  const runner = createControllerRunner(declarations, { ...options, replicaId, logger, api, nats });
  await runner.start();

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      await runner.stop();
      // Draining waits for the server; if it is away, close instead of hanging the shutdown.
      if (!(await settlesWithin(nats.drain().catch(() => undefined), 3_000))) await nats.close().catch(() => undefined);
    })());

  if (options.handleSignals ?? true) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        logger.info({ signal }, 'shutting down');
        void shutdown().then(() => {
          process.exitCode = 0;
          // Everything is closed; should a stray handle keep the process alive, do not hang a rollout on it.
          setTimeout(() => process.exit(0), 2_000).unref();
        });
      });
    }
  }
  return { runner, nats, shutdown };
}
