/**
 * Starts a whole API in-process for tests: its own Postgres schema (or PGlite directory), its own
 * NATS prefix and stream, a captured log, and a consumer that collects every published event.
 * `close()` stops it and drops the schema and the stream.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { streamNames, type ChangeEvent } from '@tugboat/resource-model';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { createApiServer, type ApiServer, type ApiServerOptions } from './api-server.js';

export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_NATS_URL = process.env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';
export const ADMIN_TOKEN = 'test-admin-token';

export interface PublishedEvent {
  event: ChangeEvent;
  msgId: string | undefined;
  subject: string;
  streamSeq: number;
}

export interface TestApi {
  server: ApiServer;
  url: string;
  schema: string;
  prefix: string;
  /** Every log line so far, as written. */
  logText(): string;
  /** Every event on the stream so far, in stream order. */
  events(): PublishedEvent[];
  waitForEvent(match: (e: PublishedEvent) => boolean, timeoutMs?: number): Promise<PublishedEvent>;
  /** `fetch` with the admin token (or another) and JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers loosely
  call(method: string, path: string, body?: unknown, options?: { token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read rows loosely
  sql<T extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<T[]>;
  /** Creates these projects (as the platform admin) unless they exist; objects of a project need it. */
  createProjects(...names: string[]): Promise<void>;
  close(): Promise<void>;
}

export function uniqueName(what: string): string {
  return `${what}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function waitUntil<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startTestApi(overrides: Partial<ApiServerOptions> & { pglite?: boolean; projects?: string[] } = {}): Promise<TestApi> {
  const schema = uniqueName('api_test');
  const prefix = uniqueName('t');
  let logText = '';
  const logSink = new Writable({
    write(chunk, _encoding, done) {
      logText += String(chunk);
      done();
    },
  });
  const { pglite, projects, ...options } = overrides;
  const server = createApiServer({
    ...(pglite ? {} : { databaseUrl: TEST_DATABASE_URL, schema }),
    natsUrl: TEST_NATS_URL,
    prefix,
    port: 0,
    host: '127.0.0.1',
    adminToken: ADMIN_TOKEN,
    secretKeys: [{ id: 'test-1', key: randomBytes(32) }],
    logger: pino({ base: { service: 'api' } }, logSink),
    relay: { pollIntervalMs: 200, standbyRetryMs: 100 },
    ...options,
  });
  let url: string;
  try {
    ({ url } = await server.start());
  } catch (error) {
    // Leave nothing behind when start-up fails half-way.
    await server.stop().catch(() => undefined);
    if (!pglite) {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
    throw error;
  }

  const collected: PublishedEvent[] = [];
  const nc: NatsConnection = await connect({ servers: TEST_NATS_URL });
  const js = jetstream(nc);
  const consumer = await js.consumers.get(streamNames(prefix).eventsStream);
  const messages = await consumer.consume();
  void (async () => {
    for await (const m of messages as AsyncIterable<JsMsg>) {
      collected.push({ event: m.json<ChangeEvent>(), msgId: m.headers?.get('Nats-Msg-Id'), subject: m.subject, streamSeq: m.seq });
    }
  })();

  const pool = pglite ? undefined : new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2, options: `-c search_path=${schema}` });

  const api: TestApi = {
    server,
    url,
    schema,
    prefix,
    logText: () => logText,
    events: () => [...collected],
    waitForEvent: (match, timeoutMs = 10_000) => waitUntil(() => collected.find(match), 'a published event', timeoutMs),
    async call(method, path, body, callOptions = {}) {
      const token = callOptions.token === undefined ? ADMIN_TOKEN : callOptions.token;
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...callOptions.headers,
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async createProjects(...names) {
      for (const name of names) {
        const created = await api.call('POST', '/v1/projects', { kind: 'Project', metadata: { name }, spec: {} });
        if (created.status !== 201 && created.status !== 409) throw new Error(`project ${name}: ${created.status} ${JSON.stringify(created.body)}`);
      }
    },
    async sql(text, values) {
      if (pool) return (await pool.query(text, values)).rows;
      return (await server.database.db.executeQuery(CompiledQuery.raw(text, values ?? []))).rows as never[];
    },
    async close() {
      await messages.close();
      await server.stop();
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(streamNames(prefix).eventsStream).catch(() => undefined);
      await nc.close();
      if (pool) {
        await pool.query(`drop schema if exists "${schema}" cascade`);
        await pool.end();
      }
    },
  };
  if (projects?.length) await api.createProjects(...projects);
  return api;
}
