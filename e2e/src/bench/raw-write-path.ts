/**
 * The matched raw baseline of the write path: per object, the rows the API writes for a create
 * (the resource, its revision, its outbox row, its audit record, and its reference row when the
 * kind has a reference), with the statements the API sends for them, through a `pg` pool of the API's size,
 * batched as the API batches, and drained to JetStream by a relay loop that reads, publishes and
 * deletes the outbox rows as the API's relay does. What it leaves out is what the API adds on top
 * of the database and the bus: HTTP, authentication, validation, secret sealing, JSON of requests
 * and answers, logging.
 *
 * The schema is made by the project's own migrations (`migrations/src/migrate.ts`), so the tables,
 * indexes, foreign keys and sequences are the API's. A batch of creates and a relay pass's read are
 * the API's own statements (`services/api/src/write-path-statements.ts`); the create with a
 * reference is written out here and mirrors `insertResource` + `recordChange` in
 * `resource-writes.ts` and `change-recorder.ts`, and the relay loop mirrors `publishPass` in
 * `outbox-relay.ts`: when those change, these must change with them. The benchmark prints every
 * statement beside its figures.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { createPipelinedPublisher, type PipelinedPublisher } from '@tugboat/api/pipelined-publish';
import { preparedQuery } from '@tugboat/api/prepared-statements';
import { createGroupCommit } from '@tugboat/api/group-commit';
import { CREATE_BATCH_PARAMETERS, CREATE_GATHER, createBatchQuery, READ_OUTBOX_BATCH, RELAY_GATHER_MIN_ROWS, RELAY_GATHER_MS } from '@tugboat/api/write-path-statements';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventStreamConfig, eventSubject, streamNames } from '@tugboat/resource-model';
import pg from 'pg';
import { DATABASE_URL, NATS_URL, NODE_TS, REPO_ROOT } from '../harness/cli-processes.js';

/** One object to create: what the API would have after validation and sealing. */
export interface RawObject {
  uid: string;
  kind: string;
  project: string;
  name: string;
  labels: Record<string, string>;
  /** The spec as stored (secret fields already `"<redacted>"`). */
  spec: Record<string, unknown>;
  /** Sealed secrets by path (`{}` for a kind without secret fields). */
  secrets: Record<string, unknown>;
  finalizers: string[];
  actor: string;
  /** A reference to resolve (kind, name, path) like `resolveReferences` does, or none. */
  reference?: { path: string; kind: string; name: string };
}

export interface RawWritePathOptions {
  schema: string;
  /** NATS prefix of the baseline's own stream. */
  prefix: string;
  /** `application_name` of its connections (the CPU meter finds the backends by it). */
  applicationName: string;
  /** Connections in the pool (the API's pool size). */
  poolSize: number;
  /** Batches on their way at once, objects per batch at most (the API's group-commit settings). */
  maxInFlight: number;
  maxBatch: number;
  /** Outbox rows read per relay pass (the API relay's batch size). */
  relayBatch: number;
}

export interface RawWritePath {
  /** Creates an object the way its API create would (batched when it has nothing to resolve). */
  create(object: RawObject): Promise<void>;
  /** Stream the relay publishes to. */
  readonly streamName: string;
  /** The statements, for printing beside the figures. */
  readonly statements: { batched: string; withReference: string[]; relay: string[] };
  close(): Promise<void>;
}


/** `insertResource` + `recordChange` for an object with one reference, in its own transaction. */
const WITH_REFERENCE = {
  resolve: 'select "uid", "deletion_requested_at" from "resources" where "kind" = $1 and "project" = $2 and "name" = $3 for share',
  insert: `insert into "resources" ("uid", "kind", "project", "name", "labels", "spec", "secrets", "status", "generation", "resource_version", "finalizers", "created_at", "updated_at")
  values ($1, $2, $3, $4, cast($5 as jsonb), cast($6 as jsonb), cast($7 as jsonb), cast($8 as jsonb), $9, nextval('resource_version_seq'), $10, $11, $12)
  on conflict ("kind", "project", "name") do nothing returning *`,
  reference: 'insert into "references" ("from_uid", "path", "to_uid") values ($1, $2, $3)',
  change: `with revision as (
    insert into revisions (resource_uid, kind, project, name, resource_version, generation, cause, actor, at, labels, spec, note)
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, cast($10 as jsonb), cast($11 as jsonb), $12)
  ), audit as (
    insert into audit_records (actor, actor_type, token, action, kind, project, name, outcome, status, request_id, source)
    values ($8, $16, $8, 'create', $2, nullif($3, ''), $4, 'success', 201, $17, $18)
  )
  insert into outbox (object_uid, subject, msg_id, payload)
  values ($1, $13, $14, cast($15 as jsonb))`,
};

/** What the API's audit record of a create holds beyond the object and the actor: the caller's type, the request id (a UUID), its address. */
const AUDIT_CONTEXT = { actorType: 'user', source: '::ffff:127.0.0.1' };

export async function startRawWritePath(options: RawWritePathOptions): Promise<RawWritePath> {
  await migrate(options.schema);
  const pool = new pg.Pool({
    connectionString: DATABASE_URL,
    max: options.poolSize,
    application_name: options.applicationName,
    options: `-c search_path="${options.schema}"`,
  });
  const { eventsStream } = streamNames(options.prefix);
  const nc: NatsConnection = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  // The API's stream configuration, from its one definition: file storage, limits, dedupe window.
  await jsm.streams.add(eventStreamConfig({ prefix: options.prefix }) as unknown as Parameters<typeof jsm.streams.add>[0]);
  // The API relay's publisher: a pass's publishes go out together, their acks come back on one subscription.
  const publisher = createPipelinedPublisher(nc);
  // The relay reads and deletes on a connection of its own, as the API's relay session does, with its settings.
  const relayPool = new pg.Pool({
    connectionString: DATABASE_URL,
    max: 1,
    application_name: options.applicationName,
    options: `-c search_path="${options.schema}" -c synchronous_commit=off`,
  });
  const relay = startRelay(relayPool, publisher, options.relayBatch);

  // The API's own group commit, with its settings (one batch in flight, the gather under load).
  const groupCommit = createGroupCommit<RawObject, void>({
    maxInFlight: options.maxInFlight,
    maxBatch: options.maxBatch,
    gather: CREATE_GATHER,
    run: async (objects) => {
      try {
        await writeBatch(objects);
        return objects.map(() => ({ ok: true, value: undefined }));
      } catch (error) {
        return objects.map(() => ({ ok: false, error }));
      }
    },
  });

  async function writeBatch(objects: RawObject[]): Promise<void> {
    const now = new Date();
    const at = now.toISOString();
    const parameters: unknown[] = [];
    objects.forEach((o, position) => {
      const key = { kind: o.kind, project: o.project, name: o.name };
      const event = { ...key, uid: o.uid, generation: 1, cause: 'spec', actor: o.actor, at };
      parameters.push(o.uid, o.kind, o.project, o.name, JSON.stringify(o.labels), JSON.stringify(o.spec), JSON.stringify(o.secrets), o.finalizers, o.actor, eventSubject(options.prefix, key, 'spec'), JSON.stringify(event), position,
        o.actor, AUDIT_CONTEXT.actorType, o.actor, randomUUID(), AUDIT_CONTEXT.source);
    });
    const query = createBatchQuery(objects.length, parameters, now, at);
    const { rowCount } = await pool.query(preparedQuery(query.text, query.values));
    if (rowCount !== objects.length) throw new Error(`raw batch: ${rowCount} of ${objects.length} objects inserted`);
    relay.wake();
  }

  async function writeWithReference(o: RawObject, reference: NonNullable<RawObject['reference']>): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const target = await client.query<{ uid: string }>(WITH_REFERENCE.resolve, [reference.kind, o.project, reference.name]);
      if (!target.rows[0]) throw new Error(`raw: ${reference.kind} "${reference.name}" does not exist`);
      const now = new Date();
      const inserted = await client.query<{ resource_version: string; generation: string }>(WITH_REFERENCE.insert, [
        o.uid, o.kind, o.project, o.name, JSON.stringify(o.labels), JSON.stringify(o.spec), JSON.stringify(o.secrets), '{}', '1', o.finalizers, now, now,
      ]);
      const row = inserted.rows[0];
      if (!row) throw new Error(`raw: ${o.name} already exists`);
      await client.query(WITH_REFERENCE.reference, [o.uid, reference.path, target.rows[0].uid]);
      const resourceVersion = String(row.resource_version);
      const at = new Date().toISOString();
      const key = { kind: o.kind, project: o.project, name: o.name };
      const event = { ...key, uid: o.uid, generation: 1, resourceVersion, cause: 'spec', actor: o.actor, at };
      await client.query(WITH_REFERENCE.change, [
        o.uid, o.kind, o.project, o.name, resourceVersion, String(row.generation), 'spec', o.actor, at, JSON.stringify(o.labels), JSON.stringify(o.spec), null,
        eventSubject(options.prefix, key, 'spec'), `${o.uid}/${resourceVersion}`, JSON.stringify(event),
        AUDIT_CONTEXT.actorType, randomUUID(), AUDIT_CONTEXT.source,
      ]);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    relay.wake();
  }

  return {
    streamName: eventsStream,
    statements: {
      batched: createBatchQuery(2, new Array(2 * CREATE_BATCH_PARAMETERS).fill(null), new Date(), '').text,
      withReference: ['begin', WITH_REFERENCE.resolve, WITH_REFERENCE.insert, WITH_REFERENCE.reference, WITH_REFERENCE.change, 'commit'],
      relay: [READ_OUTBOX_BATCH, 'publish each object’s first row (Nats-Msg-Id = msg_id), await the acks'],
    },
    create(object) {
      if (object.reference) return writeWithReference(object, object.reference);
      return groupCommit.submit(object);
    },
    async close() {
      await relay.stop();
      await relayPool.end();
      publisher.close();
      await pool.end();
      await jsm.streams.delete(eventsStream).catch(() => undefined);
      await nc.close();
    },
  };
}

/**
 * The relay loop of `outbox-relay.ts`: read a batch (deleting the rows the last pass had acknowledged),
 * publish the first row of each object, wait for the next commit when it took every row, and gather
 * commits for `RELAY_GATHER_MS` when a pass of at least `RELAY_GATHER_MIN_ROWS` rows saw another commit come.
 */
function startRelay(pool: pg.Pool, js: Pick<PipelinedPublisher, 'publish'>, batchSize: number): { wake(): void; stop(): Promise<void> } {
  let stopped = false;
  let wakeRequested = false;
  let wake: () => void = () => (wakeRequested = true);
  const pause = (ms: number) => {
    if (wakeRequested) {
      wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = () => (wakeRequested = true);
        resolve();
      }
      wake = done;
    });
  };
  // Acknowledged in the last pass: deleted by the next read, in the same statement.
  let acknowledged: string[] = [];
  // The last pass published every row it read (as `outbox-relay.ts`'s `readAll`): wait for a commit, up to its 50 ms `settleMs`.
  let readAll = false;
  const pass = async (): Promise<number> => {
    type OutboxRow = { id: string; object_uid: string; subject: string; msg_id: string; message: string };
    const { rows } = await pool.query<OutboxRow>(preparedQuery(READ_OUTBOX_BATCH, [acknowledged, [], batchSize]));
    acknowledged = [];
    if (rows.length === 0) return 0;
    const seen = new Set<string>();
    const inFlight = rows.filter((row) => !seen.has(row.object_uid) && seen.add(row.object_uid));
    readAll = rows.length < batchSize && inFlight.length === rows.length;
    const results = await Promise.allSettled(inFlight.map((row) => js.publish(row.subject, row.message, { msgID: row.msg_id, timeout: 5000 })));
    acknowledged = inFlight.filter((_, i) => results[i]!.status === 'fulfilled').map((row) => String(row.id));
    return acknowledged.length === inFlight.length ? acknowledged.length : -1;
  };
  const running = (async () => {
    while (!stopped) {
      const outcome = await pass().catch(() => -1);
      if (outcome < 0) await pause(500);
      else if (outcome === 0) await pause(1000);
      else if (readAll && wakeRequested && outcome >= RELAY_GATHER_MIN_ROWS) await new Promise((resolve) => setTimeout(resolve, RELAY_GATHER_MS));
      else if (readAll) await pause(50);
    }
    // As the API's relay does when it stops: the rows the last pass had acknowledged go too.
    if (acknowledged.length > 0) await pool.query('delete from outbox where id = any($1::bigint[])', [acknowledged]).catch(() => undefined);
  })();
  return {
    wake: () => wake(),
    async stop() {
      stopped = true;
      wake();
      await running;
    },
  };
}

/** The project's migrations into `schema`, as `pnpm migrate` runs them. */
async function migrate(schema: string): Promise<void> {
  const child = spawn(NODE_TS[0], [...NODE_TS.slice(1), 'migrations/src/migrate.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL, DATABASE_SCHEMA: schema },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`migrating the raw schema ${schema} failed (exit ${code}):\n${output.slice(-2000)}`);
}

/** A sealed secret of the size the API's secret box makes for `value` (AES-256-GCM, base64). */
export function sealedLike(value: unknown): Record<string, string> {
  const length = Buffer.byteLength(JSON.stringify(value));
  return { keyId: 'k1', iv: randomBytes(12).toString('base64'), tag: randomBytes(16).toString('base64'), data: randomBytes(length).toString('base64') };
}
