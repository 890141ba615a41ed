/**
 * The relay against real Postgres and NATS: late commits, per-object order under failures, one
 * active relay among several, and take-over.
 */
import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { streamNames, type ChangeEvent } from '@tugboat/resource-model';
import { migrateToLatest } from '@tugboat/migrations';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { TEST_DATABASE_URL, TEST_NATS_URL, uniqueName, waitUntil } from './api-test-harness.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { ensureEventStream } from './event-stream.js';
import { noKillPoint } from './kill-point.js';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.js';

const silent = pino({ level: 'silent' });

describe('outbox relay', () => {
  const schema = uniqueName('relay_test');
  const prefix = uniqueName('r');
  let nc: NatsConnection;
  let js: JetStreamClient;
  let pool: pg.Pool;
  const databases: OpenDatabase[] = [];
  const relays: OutboxRelay[] = [];
  const received: Array<{ msgId: string; event: ChangeEvent }> = [];
  let stopConsuming: () => Promise<void>;

  async function database(): Promise<OpenDatabase> {
    const opened = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema, poolSize: 2 });
    databases.push(opened);
    return opened;
  }

  function relay(db: OpenDatabase, client: JetStreamClient = js): OutboxRelay {
    const created = createOutboxRelay({ database: db, js: client, logger: silent, killPoint: noKillPoint, pollIntervalMs: 200, standbyRetryMs: 100, retryDelayMs: 50 });
    relays.push(created);
    return created;
  }

  /** An outbox row as the write path makes it (the relay's contract is the table). */
  function row(objectUid: string, version: number): { sql: string; values: unknown[] } {
    const event = { kind: 'Thing', project: 'p', name: objectUid.slice(0, 8), uid: objectUid, generation: 1, resourceVersion: String(version), cause: 'spec', at: new Date().toISOString() };
    return {
      sql: `insert into outbox (object_uid, subject, msg_id, payload) values ($1, $2, $3, $4::jsonb)`,
      values: [objectUid, `${prefix}.res.Thing.p.${event.name}`, `${objectUid}/${version}`, JSON.stringify(event)],
    };
  }

  async function insert(objectUid: string, version: number, client: pg.Pool | pg.PoolClient = pool): Promise<void> {
    const { sql, values } = row(objectUid, version);
    await client.query(sql, values);
  }

  const published = (uid: string) => received.filter((r) => r.event.uid === uid).map((r) => r.event.resourceVersion);

  beforeAll(async () => {
    // Created first, so afterAll can drop the schema even when a later step fails.
    pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 3, options: `-c search_path=${schema}` });
    nc = await connect({ servers: TEST_NATS_URL });
    const first = await database();
    const { error } = await migrateToLatest(first.db as unknown as Kysely<unknown>);
    expect(error).toBeUndefined();
    js = jetstream(nc);
    await ensureEventStream(await jetstreamManager(nc), { prefix });
    // Idempotent: a second replica starting does the same.
    await ensureEventStream(await jetstreamManager(nc), { prefix, maxAgeMs: 60_000 });
    const messages = await (await js.consumers.get(streamNames(prefix).eventsStream)).consume();
    stopConsuming = () => messages.close().then(() => undefined);
    void (async () => {
      for await (const m of messages as AsyncIterable<JsMsg>) received.push({ msgId: m.headers?.get('Nats-Msg-Id') ?? '', event: m.json<ChangeEvent>() });
    })();
  });

  afterEach(async () => {
    for (const r of relays.splice(0)) await r.stop();
  });

  afterAll(async () => {
    await stopConsuming?.();
    for (const d of databases) await d.close();
    await pool?.query(`drop schema if exists "${schema}" cascade`);
    await pool?.end();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(streamNames(prefix).eventsStream).catch(() => undefined);
    await nc?.close();
  });

  it('runs a pass when woken in-process, without a NOTIFY and long before its poll', async () => {
    const woken = createOutboxRelay({ database: databases[0]!, js, logger: silent, killPoint: noKillPoint, pollIntervalMs: 60_000, standbyRetryMs: 100 });
    relays.push(woken);
    woken.start();
    await waitUntil(() => woken.active, 'the relay to take the lock');
    for (const version of [1, 2]) {
      const object = randomUUID();
      await insert(object, version); // no NOTIFY: only wake() can bring it out before the poll
      woken.wake();
      await waitUntil(() => published(object).length === 1, `row ${version} to publish after wake()`, 5_000);
    }
  });

  it('publishes a row that committed after later rows were published', async () => {
    const active = relay(databases[0]!);
    active.start();
    const late = randomUUID();
    const early = randomUUID();
    const held = await pool.connect();
    try {
      await held.query('begin');
      await insert(late, 1, held); // takes the lower id, commits last
      await insert(early, 2);
      await waitUntil(() => published(early).length === 1, 'the committed row to publish');
      expect(published(late)).toEqual([]);
      await held.query('commit');
    } finally {
      held.release();
    }
    await waitUntil(() => published(late).length === 1, 'the late row to publish');
    await waitUntil(async () => (await pool.query('select count(*)::int as n from outbox')).rows[0].n === 0, 'the outbox to drain');
    expect(received.find((r) => r.event.uid === late)!.msgId).toBe(`${late}/1`);
  });

  it('keeps per-object order when a publish fails, and deletes rows only after the ack', async () => {
    const object = randomUUID();
    const other = randomUUID();
    let failures = 1;
    const flaky = {
      publish: (subject: string, data: string, options: { msgID: string }) => {
        if (options.msgID === `${object}/1` && failures-- > 0) return Promise.reject(new Error('injected publish failure'));
        return js.publish(subject, data, options);
      },
    } as unknown as JetStreamClient;
    const client = await pool.connect();
    try {
      await client.query('begin');
      for (let v = 1; v <= 3; v++) {
        await insert(object, v, client);
        await insert(other, v, client);
      }
      await client.query('commit');
    } finally {
      client.release();
    }
    relay(databases[0]!, flaky).start();
    await waitUntil(() => published(object).length === 3 && published(other).length === 3, 'all six rows');
    expect(failures).toBeLessThan(0);
    expect(published(object)).toEqual(['1', '2', '3']);
    expect(published(other)).toEqual(['1', '2', '3']);
  });

  it('lets only one of two relays publish, and the other take over when it stops', async () => {
    const first = relay(await database());
    const second = relay(await database());
    first.start();
    await waitUntil(() => first.active, 'the first relay to take the lock');
    second.start();
    const a = randomUUID();
    await insert(a, 1);
    await waitUntil(() => published(a).length === 1, 'the row to publish');
    // The relay counts a row once its delete committed, which may be just after a consumer saw it.
    await waitUntil(() => first.published > 0, 'the first relay to count the row');
    expect(second.published).toBe(0);
    expect(second.active).toBe(false);

    await first.stop();
    await waitUntil(() => second.active, 'the standby to take over');
    const b = randomUUID();
    await insert(b, 1);
    await waitUntil(() => published(b).length === 1, 'the row to publish after take-over');
    await waitUntil(() => second.published > 0, 'the second relay to count the row');
  });

  it("recovers when the lock holder's session dies: one relay publishes again", async () => {
    const relaysHere = [relay(await database()), relay(await database())];
    for (const r of relaysHere) r.start();
    await waitUntil(() => relaysHere.some((r) => r.active), 'a relay to take the lock');
    const holder = relaysHere.find((r) => r.active)!;
    // Kill the session that holds this schema's advisory lock, as a crashed process would lose it.
    const { rows } = await pool.query(
      `select l.pid from pg_locks l where l.locktype = 'advisory' and l.granted and l.objid = (hashtext('tugboat-outbox-relay:' || $1)::bigint & 4294967295)`,
      [schema],
    );
    expect(rows).toHaveLength(1);
    await pool.query('select pg_terminate_backend($1)', [rows[0].pid]);
    await waitUntil(() => !holder.active || relaysHere.filter((r) => r.active).length === 1, 'the holder to notice');
    const uid = randomUUID();
    await insert(uid, 1);
    await waitUntil(() => published(uid).length === 1, 'a row to publish after the holder lost its session');
    expect(relaysHere.filter((r) => r.active)).toHaveLength(1);
  });

  it('created the stream idempotently, with limits retention, a max age and a duplicate window', async () => {
    const info = await (await jetstreamManager(nc)).streams.info(streamNames(prefix).eventsStream);
    expect(info.config).toMatchObject({ subjects: [`${prefix}.res.>`], retention: 'limits', max_age: 60_000 * 1_000_000, duplicate_window: 60_000 * 1_000_000 });
  });

  it('re-publishing a row after a crash is dropped by the stream (same Msg-Id)', async () => {
    const uid = randomUUID();
    const { values } = row(uid, 7);
    const [, subject, msgId, payload] = values as [string, string, string, string];
    const firstAck = await js.publish(subject, payload, { msgID: msgId });
    const repeatAck = await js.publish(subject, payload, { msgID: msgId });
    expect(firstAck.duplicate).toBe(false);
    expect(repeatAck.duplicate).toBe(true);
    expect(repeatAck.seq).toBe(firstAck.seq);
  });
});
