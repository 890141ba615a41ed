/**
 * Opens the API's database: Postgres through `pg` when a URL is given, otherwise embedded
 * Postgres (PGlite) in a data directory. Either way the caller gets a Kysely instance whose
 * connections see one schema first on their `search_path`, and a way to open the relay's
 * dedicated session (advisory lock + LISTEN).
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, sql, type RawBuilder } from 'kysely';
import pg from 'pg';
import type { Database } from './database-schema.js';
import { namePreparedStatements } from './prepared-statements.js';

export interface DatabaseOptions {
  /** Postgres URL; without it, PGlite in `dataDir`. */
  databaseUrl?: string;
  /** Schema every connection uses (created if missing). Default `public`. */
  schema?: string;
  /** PGlite data directory; `undefined` with no URL keeps the database in memory. */
  dataDir?: string;
  /** Bounds how long one stuck client can hold a transaction (and so stall the relay). */
  idleInTransactionTimeoutMs?: number;
  poolSize?: number;
  /** Told about connections the server ended (they are discarded, not fatal). */
  onConnectionError?: (error: Error) => void;
}

/**
 * The relay's own session: an advisory lock and notifications live and die with it. `db` runs on
 * that same connection, so whatever the relay reads or deletes through it proves the lock is still
 * held at that moment: a session the server ended cannot read another batch (see the relay's fencing).
 */
export interface RelaySession {
  tryLock(): Promise<boolean>;
  /** Queries on the session's own connection (the one holding the lock). */
  readonly db: Kysely<Database>;
  /** Calls `onNotify` for every NOTIFY on the outbox channel. */
  listen(onNotify: () => void): Promise<void>;
  /** Resolves when the session is lost (the lock is gone with it). */
  readonly lost: Promise<Error>;
  close(): Promise<void>;
}

export interface OpenDatabase {
  db: Kysely<Database>;
  engine: 'postgres' | 'pglite';
  schema: string;
  /** Channel the write path notifies and the relay listens on. */
  outboxChannel: string;
  openRelaySession(options?: RelaySessionOptions): Promise<RelaySession>;
  close(): Promise<void>;
}

export interface RelaySessionOptions {
  /**
   * A query on the session that gets no answer within this time fails and ends the connection: a
   * session cut off without a word (a network partition) must not leave the relay believing it
   * still holds the lock. Default 30 s.
   */
  queryTimeoutMs?: number;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A jsonb parameter: an explicit cast of a JSON string, so neither driver guesses (arrays!). */
export function jsonb(value: unknown): RawBuilder<unknown> {
  return sql`cast(${JSON.stringify(value)} as jsonb)`;
}

export function outboxChannelFor(schema: string): string {
  return `tugboat_outbox_${schema.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  const schema = options.schema || 'public';
  const outboxChannel = outboxChannelFor(schema);
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, schema, outboxChannel, options)
    : openPglite(schema, outboxChannel, options);
}

async function openPostgres(url: string, schema: string, outboxChannel: string, options: DatabaseOptions): Promise<OpenDatabase> {
  const idleMs = options.idleInTransactionTimeoutMs ?? 30_000;
  const sessionOptions = `-c search_path=${quoteIdentifier(schema)} -c idle_in_transaction_session_timeout=${idleMs}`;
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  try {
    await setup.query(`create schema if not exists ${quoteIdentifier(schema)}`);
  } finally {
    await setup.end();
  }
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, options: sessionOptions });
  // A client the server ends (idle-in-transaction timeout, restart) emits 'error'; unhandled, that would
  // crash the process. The query running on it fails on its own and the pool discards the client.
  pool.on('error', (error) => options.onConnectionError?.(error));
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onConnectionError?.(error));
    namePreparedStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });

  return {
    db,
    engine: 'postgres',
    schema,
    outboxChannel,
    async openRelaySession(sessionOptions) {
      const client = new pg.Client({
        connectionString: url,
        // All this session commits is the deletion of rows the stream already acknowledged: it need
        // not wait for their WAL flush (outbox-relay.ts, module comment).
        options: `-c search_path=${quoteIdentifier(schema)} -c synchronous_commit=off`,
        query_timeout: sessionOptions?.queryTimeoutMs ?? 30_000,
        keepAlive: true,
      });
      let markLost: (error: Error) => void = () => undefined;
      const lost = new Promise<Error>((resolve) => (markLost = resolve));
      client.on('error', (error) => markLost(error));
      client.on('end', () => markLost(new Error('relay session ended')));
      await client.connect();
      namePreparedStatements(client);
      // Kysely over this one connection: every query of the relay's pass runs where the lock is held.
      const sessionDb = new Kysely<Database>({
        dialect: new PostgresDialect({
          pool: {
            connect: () => Promise.resolve({ query: client.query.bind(client), release: () => undefined } as unknown as pg.PoolClient),
            end: () => Promise.resolve(),
            options: {},
          },
        }),
      });
      return {
        lost,
        db: sessionDb,
        async tryLock() {
          // One lock per schema: replicas of one installation compete, test schemas do not.
          const result = await client.query<{ locked: boolean }>(
            `select pg_try_advisory_lock(hashtext('tugboat-outbox-relay:' || $1)) as locked`,
            [schema],
          );
          return result.rows[0]?.locked === true;
        },
        async listen(onNotify) {
          client.on('notification', (message) => {
            if (message.channel === outboxChannel) onNotify();
          });
          await client.query(`listen ${quoteIdentifier(outboxChannel)}`);
        },
        async close() {
          await client.end().catch(() => undefined);
        },
      };
    },
    async close() {
      await db.destroy();
    },
  };
}

async function openPglite(schema: string, outboxChannel: string, options: DatabaseOptions): Promise<OpenDatabase> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const pglite = new PGlite(options.dataDir);
  await pglite.waitReady;
  await pglite.exec(`create schema if not exists ${quoteIdentifier(schema)}; set search_path to ${quoteIdentifier(schema)};`);
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return {
    db,
    engine: 'pglite',
    schema,
    outboxChannel,
    async openRelaySession() {
      // One connection, one process: there is no other relay to compete with.
      const unsubscribers: Array<() => Promise<void>> = [];
      return {
        lost: new Promise<Error>(() => undefined),
        db,
        async tryLock() {
          return true;
        },
        async listen(onNotify) {
          unsubscribers.push(await pglite.listen(outboxChannel, () => onNotify()));
        },
        async close() {
          for (const unsubscribe of unsubscribers) await unsubscribe().catch(() => undefined);
        },
      };
    },
    async close() {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}
