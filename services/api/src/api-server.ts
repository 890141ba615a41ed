/**
 * Wires the API: database (pg or PGlite) and migrations, NATS and the event stream, the store, the
 * relay and the HTTP app. `main.ts` only reads the environment and calls this; tests call it
 * in-process with their own schema, prefix and logger.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { migrateToLatest } from '@tugboat/migrations';
import { DEFAULT_PREFIX, InternalError } from '@tugboat/resource-model';
import { sql, type Kysely } from 'kysely';
import { pino, type Logger } from 'pino';
import { createApiMetrics } from './api-metrics.js';
import { createApp } from './app.js';
import { createAuditLog } from './audit-log.js';
import { createAuditTrail } from './audit-trail.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { ensureEventStream } from './event-stream.js';
import { createLimitedHttpServer, DEFAULT_HTTP_SERVER_LIMITS, type HttpServerLimits } from './http-server-limits.js';
import { createIdentityStore, type IdentityStore } from './identity.js';
import { noKillPoint, type KillPoint } from './kill-point.js';
import { createKindObjects } from './kind-objects.js';
import { createKindRegistry } from './kind-registry.js';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.js';
import { createPipelinedPublisher } from './pipelined-publish.js';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './request-limits.js';
import { createAdmission } from './admission.js';
import { createResourceStore } from './resource-store.js';
import { createRetentionJob, type RetentionJob, type RetentionOptions } from './retention-job.js';
import { createRevisionHistory } from './revision-history.js';
import { createSecretBox, loadSecretKeys, SECRET_KEYS_HOWTO, type SecretKey } from './secret-box.js';
import { assertStoredSecretsOpenable, countSealedValuesByKey, secretKeyStatus } from './secret-key-usage.js';
import { createSecretResealJob, type SecretResealJob, type SecretResealOptions } from './secret-reseal-job.js';
import { announceTokenRevocation, followTokenRevocations } from './token-revocations.js';
import { withUnknownKindCache } from './unknown-kind-cache.js';
import { createWatchChangeReader } from './watch-change-reader.js';
import { createWatchHub, type WatchHub, type WatchHubOptions } from './watch-hub.js';

export interface ApiServerOptions {
  /** Postgres URL; without it the API runs on PGlite in `<stateDir>/pgdata`. */
  databaseUrl?: string;
  /** Database schema (tests give each run its own). Default `public`. */
  schema?: string;
  /** PGlite data directory; default `<stateDir>/pgdata`. */
  dataDir?: string;
  natsUrl?: string;
  /** NATS subject and stream prefix. Default `tugboat`. */
  prefix?: string;
  /** HTTP port; 0 picks a free one. Default 7070. */
  port?: number;
  host?: string;
  adminToken: string;
  /**
   * Secret keys, the one that seals first. Required with `databaseUrl` (replicas must share them
   * and a restart must keep them); on PGlite they default to `<stateDir>/secret-keys` (generated once).
   */
  secretKeys?: SecretKey[];
  /** The background pass that moves stored values to the current key (default: every 10 min, 200 rows a statement). */
  secretReseal?: Pick<SecretResealOptions, 'intervalMs' | 'batchSize'> & { enabled?: boolean };
  /** How stale this replica's kinds may get before it checks for changes made through another. Default 1000 ms. */
  kindsReloadIntervalMs?: number;
  stateDir?: string;
  /** Run pending migrations at start. Default true. */
  migrate?: boolean;
  logger?: Logger;
  streamMaxAgeMs?: number;
  /** Most messages the events stream keeps (tests make a cursor go stale with it). Default: no limit. */
  streamMaxMsgs?: number;
  /**
   * History bounds and how often they are enforced (defaults: 50 revisions, 100 events per object,
   * events up to 168 h, audit records up to 90 days, every 10 min).
   */
  retention?: Pick<RetentionOptions, 'revisionsKeep' | 'eventsKeep' | 'eventsMaxAgeMs' | 'auditMaxAgeMs' | 'intervalMs' | 'now'> & { enabled?: boolean };
  /** The watch fan-out: ring size, per-client buffer, heartbeat, slow-client grace, how long it follows the stream after the last watch. */
  watch?: Pick<WatchHubOptions, 'ringSize' | 'frameCacheBytes' | 'clientBufferEvents' | 'heartbeatMs' | 'slowClientGraceMs' | 'idleAfterMs'>;
  relay?: { enabled?: boolean; pollIntervalMs?: number; standbyRetryMs?: number; batchSize?: number };
  idleInTransactionTimeoutMs?: number;
  bodyLimitBytes?: number;
  /** Parser bounds: nesting depth, YAML aliases and documents, query parameters. */
  requestLimits?: Partial<RequestLimits>;
  /** Connection bounds: header, body and idle timeouts, requests per connection, pipelining. */
  http?: Partial<HttpServerLimits>;
  /** Creates waiting for the database at most; past it a create answers 503 with Retry-After. Default 10 000. */
  maxQueuedWrites?: number;
  /** Decided Rollouts kept per Application and tier (the newest; waiting ones always). Default 50. */
  rolloutHistoryLimit?: number;
  killPoint?: KillPoint;
  /** Token cache lifetime (default 1 s) and the clock of token expiry and last use (tests move it). */
  identity?: { cacheTtlMs?: number; now?: () => number };
}

export interface ApiServer {
  /** Opens everything and listens; resolves with the bound port. */
  start(): Promise<{ port: number; url: string }>;
  /** Stops taking requests, stops the relay, closes NATS and the database. */
  stop(): Promise<void>;
  readonly url: string;
  readonly ready: boolean;
  /** For tests and tooling inside this package: the database and the relay. */
  readonly database: OpenDatabase;
  readonly relay: OutboxRelay;
  readonly nats: NatsConnection;
  /** The re-seal of stored secret values with the current key (`reseal()` runs a pass now). */
  readonly secretReseal: SecretResealJob;
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  const logger = options.logger ?? pino({ base: { service: 'api' } });
  const stateDir = options.stateDir ?? '.state';
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  let database: OpenDatabase | undefined;
  let nats: NatsConnection | undefined;
  let relay: OutboxRelay | undefined;
  let retention: RetentionJob | undefined;
  let secretReseal: SecretResealJob | undefined;
  let watch: WatchHub | undefined;
  let identities: IdentityStore | undefined;
  let server: Server | undefined;
  let url = '';
  let ready = false;
  let natsConnected = false;

  /**
   * Followed for `/readyz` and logs only: Postgres is the source of truth, so writes go on while the
   * bus is away (their outbox rows wait for the relay) and the client reconnects on its own.
   */
  async function followNatsStatus(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect' || status.type === 'close') {
        natsConnected = false;
        logger.warn({ nats: status.type }, 'NATS connection lost');
      } else if (status.type === 'reconnect') {
        natsConnected = true;
        // Revocations announced while this replica was away were lost (core NATS): forget them all.
        identities?.forgetAll();
        logger.info('NATS reconnected');
      }
    }
    natsConnected = false;
  }

  function required<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new InternalError(`${what} is not started`);
    return value;
  }

  async function start(): Promise<{ port: number; url: string }> {
    const killPoint = options.killPoint ?? noKillPoint;
    if (options.databaseUrl && !options.secretKeys) {
      // A key generated per process could not be shared by replicas and would be lost on restart.
      throw new InternalError(`TUGBOAT_SECRET_KEYS is required with DATABASE_URL; ${SECRET_KEYS_HOWTO}`);
    }
    database = await openDatabase({
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : { dataDir: options.dataDir ?? join(stateDir, 'pgdata') }),
      ...(options.schema ? { schema: options.schema } : {}),
      ...(options.idleInTransactionTimeoutMs ? { idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs } : {}),
      onConnectionError: (error) => logger.warn({ err: error.message }, 'database connection ended'),
    });
    if (options.migrate !== false) {
      const { error, results } = await migrateToLatest(database.db as unknown as Kysely<unknown>);
      for (const result of results ?? []) logger.info({ migration: result.migrationName, status: result.status }, 'migration');
      if (error) throw new InternalError('database migration failed', { cause: error });
    }
    const secretKeys = options.secretKeys ?? (await loadSecretKeys({ stateDir }));
    const secrets = createSecretBox({ keys: secretKeys });
    const keyStatus = await assertStoredSecretsOpenable(database.db, secrets).catch((error: unknown) => {
      if (options.secretKeys || !(error instanceof Error)) throw error;
      throw new InternalError(`${error.message} (the keys came from ${join(stateDir, 'secret-keys')}: restore that file)`);
    });
    logger.info({ current: keyStatus.current, keys: keyStatus.keys }, 'secret keys');
    // One trail for the app and every store: the app enters each request's context, the stores record in it.
    const audit = createAuditTrail({ db: database.db, logger });
    const kinds = withUnknownKindCache(
      createKindRegistry({
        db: database.db,
        objects: createKindObjects({ secrets }),
        logger,
        audit,
        ...(options.kindsReloadIntervalMs === undefined ? {} : { reloadIntervalMs: options.kindsReloadIntervalMs }),
      }),
    );
    const store = createResourceStore({
      db: database.db,
      kinds,
      secrets,
      prefix,
      outboxChannel: database.outboxChannel,
      localRelay: {
        get active() {
          return relay?.active ?? false;
        },
        wake: () => relay?.wake(),
      },
      killPoint,
      ...(options.maxQueuedWrites ? { groupCommit: { maxQueued: options.maxQueuedWrites } } : {}),
      ...(options.rolloutHistoryLimit ? { rolloutHistoryLimit: options.rolloutHistoryLimit } : {}),
      admission: createAdmission({ limits: { ...DEFAULT_REQUEST_LIMITS, ...options.requestLimits } }),
      audit,
    });
    identities = createIdentityStore({
      db: database.db,
      adminToken: options.adminToken,
      logger,
      audit,
      ...(options.identity?.cacheTtlMs === undefined ? {} : { cacheTtlMs: options.identity.cacheTtlMs }),
      ...(options.identity?.now ? { now: options.identity.now } : {}),
    });
    const db = database.db;
    const metrics = createApiMetrics({
      relayActive: () => relay?.active ?? false,
      outboxStats: async () => {
        const { rows } = await sql<{ pending: string | number; age: string | number | null }>`
          select count(*) as pending, extract(epoch from now() - min(created_at)) as age from outbox`.execute(db);
        return { pending: Number(rows[0]?.pending ?? 0), oldestAgeSeconds: Math.max(0, Number(rows[0]?.age ?? 0)) };
      },
    });
    const httpLimits: HttpServerLimits = { ...DEFAULT_HTTP_SERVER_LIMITS, ...options.http };
    watch = createWatchHub({ prefix, logger, registry: metrics.registry, readChange: createWatchChangeReader({ store, kinds, db }), ...options.watch });
    const app = createApp({
      store,
      history: createRevisionHistory({ db }),
      kinds,
      identities,
      logger,
      isReady: () => ready,
      isBusConnected: () => natsConnected,
      onTokenRevoked: (name) => announceTokenRevocation(nats, prefix, name, logger),
      metrics,
      watch,
      secretKeys: { status: async () => secretKeyStatus(secrets, await countSealedValuesByKey(db)) },
      audit: { trail: audit, log: createAuditLog({ db }) },
      ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
      ...(options.requestLimits ? { limits: options.requestLimits } : {}),
      maxPipelined: httpLimits.maxPipelined,
    });

    // Listen before NATS so /healthz answers while the bus is still coming; /readyz says 503 until the
    // first connection (the stream must exist before the relay publishes).
    server = await new Promise<Server>((resolve, reject) => {
      const listening = createLimitedHttpServer(app, httpLimits);
      listening.once('error', reject);
      listening.listen(options.port ?? 7070, options.host ?? '0.0.0.0', () => {
        listening.off('error', reject);
        resolve(listening);
      });
    });
    const port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;
    logger.info({ port, engine: database.engine, schema: database.schema, prefix }, 'api listening');

    nats = await connect({
      servers: options.natsUrl ?? 'nats://127.0.0.1:4222',
      name: `tugboat-api-${process.pid}`,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      // nats.js otherwise builds a RequestError and a TimeoutError (each capturing a stack) for every
      // request, i.e. every relay publish, in case it fails: ~3 % of the API's busy time under load
      // (CPU profile, e2e/src/bench/README.md). A failed publish still says what failed.
      noAsyncTraces: true,
    });
    natsConnected = true;
    void followNatsStatus(nats);
    await ensureEventStream(await jetstreamManager(nats), {
      prefix,
      ...(options.streamMaxAgeMs ? { maxAgeMs: options.streamMaxAgeMs } : {}),
      ...(options.streamMaxMsgs ? { maxMsgs: options.streamMaxMsgs } : {}),
    });
    await watch.start(nats);
    followTokenRevocations({ nats, prefix, identities, logger });
    // The server knows of the subscription before this replica says it is ready.
    await nats.flush();
    relay = createOutboxRelay({
      database,
      js: createPipelinedPublisher(nats),
      logger,
      killPoint,
      metrics,
      ...(options.relay?.pollIntervalMs ? { pollIntervalMs: options.relay.pollIntervalMs } : {}),
      ...(options.relay?.standbyRetryMs ? { standbyRetryMs: options.relay.standbyRetryMs } : {}),
      ...(options.relay?.batchSize ? { batchSize: options.relay.batchSize } : {}),
    });
    if (options.relay?.enabled !== false) relay.start();
    if (options.retention?.enabled !== false) {
      const { enabled: _enabled, ...bounds } = options.retention ?? {};
      retention = createRetentionJob({ db, logger, ...bounds });
      retention.start();
    }
    secretReseal = createSecretResealJob({
      db,
      secrets,
      logger,
      ...(options.secretReseal?.intervalMs ? { intervalMs: options.secretReseal.intervalMs } : {}),
      ...(options.secretReseal?.batchSize ? { batchSize: options.secretReseal.batchSize } : {}),
    });
    if (options.secretReseal?.enabled !== false) secretReseal.start();
    ready = true;
    logger.info({ port }, 'api ready');
    return { port, url };
  }

  async function stop(): Promise<void> {
    ready = false;
    // Watches hold their connections open: end them first, or closing the server waits on them.
    await watch?.stop();
    if (server) {
      const closing = server;
      await new Promise<void>((resolve) => {
        closing.close(() => resolve());
        closing.closeIdleConnections();
      });
    }
    await relay?.stop();
    await retention?.stop();
    await secretReseal?.stop();
    await nats?.drain().catch(() => undefined);
    await database?.close();
    logger.info('api stopped');
  }

  return {
    start,
    stop,
    get url() {
      return url;
    },
    get ready() {
      return ready;
    },
    get database() {
      return required(database, 'the database');
    },
    get relay() {
      return required(relay, 'the relay');
    },
    get nats() {
      return required(nats, 'NATS');
    },
    get secretReseal() {
      return required(secretReseal, 'the secret re-seal');
    },
  };
}
