import { hostname } from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createApiClient } from '@tugboat/api-client';
import { pino } from 'pino';
import { createControllerRunner, type ControllerRunner, type ControllerRunnerOptions } from './controller-runner.js';
import type { ControllerDeclaration } from './define-controller.js';

export interface RunControllerOptions extends Omit<ControllerRunnerOptions, 'api' | 'nats'> {
  apiUrl: string;
  /** The controller identity's token (`POST /v1/tokens` with `type: controller`). */
  token: string;
  natsUrl: string | string[];
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
 * SIGTERM stops pulling, lets running reconciles finish, releases leases and drains NATS.
 */
export async function runController(
  declaration: ControllerDeclaration<never, never> | ControllerDeclaration,
  options: RunControllerOptions,
): Promise<RunningController> {
  const replicaId = options.replicaId ?? hostname();
  const logger = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const api = createApiClient({ baseUrl: options.apiUrl, token: options.token, userAgent: `${declaration.name}/${replicaId}` });
  const nats = await connect({
    servers: options.natsUrl,
    name: `${declaration.name}/${replicaId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  const runner = createControllerRunner(declaration, { ...options, replicaId, logger, api, nats });
  await runner.start();

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      await runner.stop();
      await nats.drain().catch(() => undefined);
    })());

  if (options.handleSignals ?? true) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        logger.info({ signal }, 'shutting down');
        void shutdown().then(() => {
          process.exitCode = 0;
        });
      });
    }
  }
  return { runner, nats, shutdown };
}
