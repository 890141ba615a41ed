// Process entry: reads configuration from the environment, starts the API, stops it on SIGTERM/SIGINT.
import { pino } from 'pino';
import { createApiServer } from './api-server.js';
import { testKillPointFromEnv } from './kill-point.js';
import { parseSecretKeys, SECRET_KEYS_HOWTO, type SecretKey } from './secret-box.js';

const env = process.env;
// Written asynchronously, in blocks of at least 4 KiB (a line per request would be a write per
// request, each one a hand-off to libuv's thread pool), and at least once a second so a quiet API's
// lines still show at once; pino flushes what is pending when the process exits.
const logger = pino({ base: { service: 'api' } }, pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 1000 }));

const adminToken = env['TUGBOAT_ADMIN_TOKEN'];
if (!adminToken) {
  logger.fatal('TUGBOAT_ADMIN_TOKEN is required');
  process.exit(2);
}

// With a shared database every replica must seal and open with the same keys, and keep them across
// restarts: a key generated here would be neither. Only the embedded database (no DATABASE_URL)
// generates one, into the state directory.
let secretKeys: SecretKey[] | undefined;
if (env['TUGBOAT_SECRET_KEYS']) {
  try {
    secretKeys = parseSecretKeys(env['TUGBOAT_SECRET_KEYS']);
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'TUGBOAT_SECRET_KEYS is not usable');
    process.exit(2);
  }
} else if (env['DATABASE_URL']) {
  logger.fatal({ howTo: SECRET_KEYS_HOWTO }, `TUGBOAT_SECRET_KEYS is required with DATABASE_URL; ${SECRET_KEYS_HOWTO}`);
  process.exit(2);
}

// Test-only fault hook: inert unless a test also sets TUGBOAT_TEST_HOOKS=1.
const { killPoint, ignored: killPointIgnored } = testKillPointFromEnv(env);
if (killPointIgnored) logger.warn({ reason: killPointIgnored }, 'kill point not armed');

const server = createApiServer({
  ...(env['DATABASE_URL'] ? { databaseUrl: env['DATABASE_URL'] } : {}),
  ...(env['DATABASE_SCHEMA'] ? { schema: env['DATABASE_SCHEMA'] } : {}),
  natsUrl: env['NATS_URL'] || 'nats://127.0.0.1:4222',
  prefix: env['TUGBOAT_NATS_PREFIX'] || 'tugboat',
  port: Number(env['PORT'] || 7070),
  ...(env['HOST'] ? { host: env['HOST'] } : {}),
  adminToken,
  ...(secretKeys ? { secretKeys } : {}),
  stateDir: env['TUGBOAT_STATE_DIR'] || '.state',
  migrate: env['TUGBOAT_MIGRATE'] !== 'false',
  ...(env['TUGBOAT_EVENTS_MAX_AGE_MS'] ? { streamMaxAgeMs: Number(env['TUGBOAT_EVENTS_MAX_AGE_MS']) } : {}),
  ...(env['TUGBOAT_STREAM_MAX_MSGS'] ? { streamMaxMsgs: Number(env['TUGBOAT_STREAM_MAX_MSGS']) } : {}),
  watch: {
    ...(env['TUGBOAT_WATCH_RING_SIZE'] ? { ringSize: Number(env['TUGBOAT_WATCH_RING_SIZE']) } : {}),
    ...(env['TUGBOAT_WATCH_CLIENT_BUFFER'] ? { clientBufferEvents: Number(env['TUGBOAT_WATCH_CLIENT_BUFFER']) } : {}),
    ...(env['TUGBOAT_WATCH_HEARTBEAT_MS'] ? { heartbeatMs: Number(env['TUGBOAT_WATCH_HEARTBEAT_MS']) } : {}),
    ...(env['TUGBOAT_WATCH_SLOW_CLIENT_GRACE_MS'] ? { slowClientGraceMs: Number(env['TUGBOAT_WATCH_SLOW_CLIENT_GRACE_MS']) } : {}),
  },
  retention: {
    ...(env['TUGBOAT_REVISIONS_KEEP'] ? { revisionsKeep: Number(env['TUGBOAT_REVISIONS_KEEP']) } : {}),
    ...(env['TUGBOAT_EVENTS_KEEP'] ? { eventsKeep: Number(env['TUGBOAT_EVENTS_KEEP']) } : {}),
    ...(env['TUGBOAT_EVENTS_MAX_AGE_HOURS'] ? { eventsMaxAgeMs: Number(env['TUGBOAT_EVENTS_MAX_AGE_HOURS']) * 3_600_000 } : {}),
    ...(env['TUGBOAT_AUDIT_MAX_AGE_DAYS'] ? { auditMaxAgeMs: Math.round(Number(env['TUGBOAT_AUDIT_MAX_AGE_DAYS']) * 86_400_000) } : {}),
    ...(env['TUGBOAT_RETENTION_INTERVAL_MS'] ? { intervalMs: Number(env['TUGBOAT_RETENTION_INTERVAL_MS']) } : {}),
  },
  ...(env['TUGBOAT_SECRET_RESEAL_INTERVAL_MS'] ? { secretReseal: { intervalMs: Number(env['TUGBOAT_SECRET_RESEAL_INTERVAL_MS']) } } : {}),
  ...(env['TUGBOAT_MAX_QUEUED_WRITES'] ? { maxQueuedWrites: Number(env['TUGBOAT_MAX_QUEUED_WRITES']) } : {}),
  http: {
    ...(env['TUGBOAT_HTTP_HEADERS_TIMEOUT_MS'] ? { headersTimeoutMs: Number(env['TUGBOAT_HTTP_HEADERS_TIMEOUT_MS']) } : {}),
    ...(env['TUGBOAT_HTTP_REQUEST_TIMEOUT_MS'] ? { requestTimeoutMs: Number(env['TUGBOAT_HTTP_REQUEST_TIMEOUT_MS']) } : {}),
    ...(env['TUGBOAT_HTTP_KEEP_ALIVE_TIMEOUT_MS'] ? { keepAliveTimeoutMs: Number(env['TUGBOAT_HTTP_KEEP_ALIVE_TIMEOUT_MS']) } : {}),
    ...(env['TUGBOAT_HTTP_IDLE_TIMEOUT_MS'] ? { idleTimeoutMs: Number(env['TUGBOAT_HTTP_IDLE_TIMEOUT_MS']) } : {}),
    ...(env['TUGBOAT_HTTP_MAX_REQUESTS_PER_CONNECTION'] ? { maxRequestsPerConnection: Number(env['TUGBOAT_HTTP_MAX_REQUESTS_PER_CONNECTION']) } : {}),
    ...(env['TUGBOAT_HTTP_MAX_PIPELINED'] ? { maxPipelined: Number(env['TUGBOAT_HTTP_MAX_PIPELINED']) } : {}),
  },
  logger,
  killPoint,
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  try {
    await server.stop();
    process.exit(0);
  } catch (error) {
    logger.error({ err: String(error) }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await server.start();
} catch (error) {
  logger.fatal({ err: error instanceof Error ? { message: error.message, cause: String(error.cause) } : String(error) }, 'api failed to start');
  await server.stop().catch(() => undefined);
  process.exit(1);
}
