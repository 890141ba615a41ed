/**
 * The relay against real Postgres and NATS: late commits, per-object order under failures, one
 * active relay among several, and take-over.
 */
import { randomUUID } from 'node:crypto';
import { createServer, connect as connectTcp, type Socket } from 'node:net';
import { jetstream, jetstreamManager, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { streamNames, type ChangeEvent } from '@tugboat/resource-model';
import { migrateToLatest } from '@tugboat/migrations';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { TEST_DATABASE_URL, TEST_NATS_URL, uniqueName, waitUntil } from './api-test-harness.js';
import { openDatabase, type OpenDatabase } from './database.js';
import { ensureEventStream } from './event-stream.js';
import { noKillPoint } from './kill-point.js';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.js';
import { RELAY_GATHER_MIN_ROWS } from './write-path-statements.js';
import { createPipelinedPublisher, type PipelinedPublisher } from './pipelined-publish.js';

const silent = pino({ level: process.env['RELAY_TEST_LOG'] ?? 'silent' });

describe('outbox relay', () => {
  const schema = uniqueName('relay_test');
  const prefix = uniqueName('r');
  let nc: NatsConnection;
  let js: JetStreamClient;
  /** What the API's relay publishes with (`js` consumes what it published). */
  let publisher: PipelinedPublisher;
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

  function relay(db: OpenDatabase, client: Pick<JetStreamClient, 'publish'> = publisher): OutboxRelay {
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

  /** The backend holding this schema's relay lock, if any. */
  async function lockHolderPid(): Promise<number | undefined> {
    const { rows } = await pool.query<{ pid: number }>(
      `select l.pid from pg_locks l where l.locktype = 'advisory' and l.granted and l.objid = (hashtext('tugboat-outbox-relay:' || $1)::bigint & 4294967295)`,
      [schema],
    );
    expect(rows.length).toBeLessThanOrEqual(1);
    return rows[0]?.pid;
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
    publisher = createPipelinedPublisher(nc);
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

  it("commits on its session without waiting for the WAL flush, while the API's other connections wait for it", async () => {
    // The relay's session only deletes rows the stream acknowledged: one lost in a server crash is
    // published again under the same Msg-Id. Every other write must be flushed before it is answered.
    const session = await databases[0]!.openRelaySession();
    try {
      const setting = async (db: Kysely<unknown>) => (await sql<{ value: string }>`select current_setting('synchronous_commit') as value`.execute(db)).rows[0]?.value;
      expect(await setting(session.db as unknown as Kysely<unknown>)).toBe('off');
      expect(await setting(databases[0]!.db as unknown as Kysely<unknown>)).toBe('on');
    } finally {
      await session.close();
    }
  });

  it('runs a pass when woken in-process, without a NOTIFY and long before its poll', async () => {
    const woken = createOutboxRelay({ database: databases[0]!, js: publisher, logger: silent, killPoint: noKillPoint, pollIntervalMs: 60_000, standbyRetryMs: 100 });
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

  it('deletes what a pass published in the next commit\'s pass, or after settleMs when no commit comes', async () => {
    const inOutbox = async (uid: string) => Number((await pool.query<{ n: string }>('select count(*)::text as n from outbox where object_uid = $1', [uid])).rows[0]!.n);
    const settling = createOutboxRelay({ database: databases[0]!, js: publisher, logger: silent, killPoint: noKillPoint, pollIntervalMs: 60_000, standbyRetryMs: 100, settleMs: 60_000 });
    relays.push(settling);
    // In the outbox before the relay starts, and no wake-up: its first pass takes the row. (A wake-up
    // that arrived while that pass ran would rightly start another pass at once, which deletes it.)
    const first = randomUUID();
    await insert(first, 1);
    settling.start();
    await waitUntil(() => published(first).length === 1, 'the first row on the bus');
    // On the bus and still in the outbox: no pass ran only to delete it.
    expect(await inOutbox(first)).toBe(1);
    expect(settling.published).toBe(0);
    const second = randomUUID();
    await insert(second, 1);
    settling.wake();
    await waitUntil(() => published(second).length === 1, 'the second row on the bus');
    // The pass that read the second row deleted the first in the same statement.
    expect(await inOutbox(first)).toBe(0);
    expect(settling.published).toBe(1);
    await settling.stop();
    // Stopping deletes what was acknowledged: nothing is left to publish twice.
    expect(await inOutbox(second)).toBe(0);

    // With a short settle, the rows go without another commit.
    const quick = createOutboxRelay({ database: databases[0]!, js: publisher, logger: silent, killPoint: noKillPoint, pollIntervalMs: 60_000, standbyRetryMs: 100, settleMs: 20 });
    relays.push(quick);
    quick.start();
    await waitUntil(() => quick.active, 'the relay to take the lock');
    const third = randomUUID();
    await insert(third, 1);
    quick.wake();
    await waitUntil(async () => (await inOutbox(third)) === 0 || undefined, 'the third row to be deleted without another commit');
    expect(published(third)).toEqual(['1']);
  });

  /**
   * A publisher whose publishes wait until `open()`, recording when each object's publish was asked
   * for: a relay's first pass can be held while more commits come.
   */
  function gatedPublisher(): { js: Pick<JetStreamClient, 'publish'>; calls: Map<string, number>; open(): number } {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls = new Map<string, number>();
    return {
      calls,
      js: {
        publish: async (subject, data, options) => {
          calls.set(options!.msgID!.split('/')[0]!, performance.now());
          await gate;
          return publisher.publish(subject, data as string, options);
        },
      },
      open() {
        release();
        return performance.now();
      },
    };
  }

  it('gathers commits for gatherMs before the next read when a pass published RELAY_GATHER_MIN_ROWS rows or more and more came', async () => {
    const gatherMs = 300;
    const gated = gatedPublisher();
    const gathering = createOutboxRelay({ database: databases[0]!, js: gated.js, logger: silent, killPoint: noKillPoint, pollIntervalMs: 60_000, standbyRetryMs: 100, gatherMs });
    relays.push(gathering);
    // RELAY_GATHER_MIN_ROWS objects in the outbox before the relay starts: its first pass takes them all.
    const first = Array.from({ length: RELAY_GATHER_MIN_ROWS }, () => randomUUID());
    const late = randomUUID();
    for (const uid of first) await insert(uid, 1);
    gathering.start();
    await waitUntil(() => gated.calls.size === RELAY_GATHER_MIN_ROWS || undefined, 'the first pass to publish its rows');
    // A commit while that pass waits for its acks: under load, the next pass is due at once.
    await insert(late, 1);
    gathering.wake();
    const opened = gated.open();
    await waitUntil(() => published(late).length === 1, 'the late row on the bus');
    for (const uid of first) expect(published(uid)).toEqual(['1']);
    // It was read only after the gather (timers fire at or after their time; a millisecond for the clocks).
    expect(gated.calls.get(late)! - opened).toBeGreaterThanOrEqual(gatherMs - 1);
  });

  it('reads at once after a pass of fewer than RELAY_GATHER_MIN_ROWS rows (a light load is not held back by gatherMs)', async () => {
    const gated = gatedPublisher();
    const light = createOutboxRelay({ database: databases[0]!, js: gated.js, logger: silent, killPoint: noKillPoint, pollIntervalMs: 60_000, standbyRetryMs: 100, gatherMs: 60_000 });
    relays.push(light);
    const first = Array.from({ length: RELAY_GATHER_MIN_ROWS - 1 }, () => randomUUID());
    const second = randomUUID();
    for (const uid of first) await insert(uid, 1);
    light.start();
    await waitUntil(() => gated.calls.size === first.length || undefined, 'the first pass to publish its rows');
    await insert(second, 1);
    light.wake();
    gated.open();
    // Gathering would hold it for a minute.
    await waitUntil(() => published(second).length === 1, 'the second row on the bus', 10_000);
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
        return publisher.publish(subject, data, options);
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

  it("recovers when the lock holder's session dies: the standby takes over and publishes", async () => {
    const relaysHere = [relay(await database()), relay(await database())];
    for (const r of relaysHere) r.start();
    const holder = await waitUntil(() => relaysHere.find((r) => r.active), 'a relay to take the lock');
    const standby = relaysHere.find((r) => r !== holder)!;
    await pool.query('select pg_terminate_backend($1)', [await lockHolderPid()]);
    await waitUntil(() => !holder.active, 'the holder to notice its session ended');
    await waitUntil(() => standby.active, 'the standby to take the lock');
    const uid = randomUUID();
    await insert(uid, 1);
    await waitUntil(() => published(uid).length === 1, 'a row to publish after the holder lost its session');
    await waitUntil(async () => (await lockHolderPid()) !== undefined, 'the lock to be held again');
    // The old holder, back on a new session, finds the lock taken and stands by: one relay is active.
    await waitUntil(() => standby.published > 0, 'the standby to count the row');
    expect(holder.active && standby.active).toBe(false);
  });

  it('fences a relay whose session died mid-batch: it publishes nothing after, the new one delivers every row once', async () => {
    // The old relay's session goes through a proxy the test can freeze: its connection then dies
    // without a word reaching the relay (as in a network partition), so only fencing can stop it.
    const proxy = await startFreezableProxy(TEST_DATABASE_URL);
    const direct = await database();
    const proxied = await openDatabase({ databaseUrl: proxy.url, schema, poolSize: 1 });
    databases.push(proxied);
    const oldDatabase: OpenDatabase = { ...direct, openRelaySession: (o) => proxied.openRelaySession(o) };
    let terminated = false;
    const publishedAfterTermination: string[] = [];
    let releaseOld!: () => void;
    const oldGate = new Promise<void>((resolve) => (releaseOld = resolve));
    let firstOldPublish!: () => void;
    const oldPublishing = new Promise<void>((resolve) => (firstOldPublish = resolve));
    const gated = {
      publish: async (subject: string, data: string, publishOptions: { msgID: string }) => {
        if (terminated) publishedAfterTermination.push(publishOptions.msgID);
        firstOldPublish();
        await oldGate;
        return publisher.publish(subject, data, publishOptions);
      },
    } as unknown as JetStreamClient;
    const oldRelay = createOutboxRelay({ database: oldDatabase, js: gated, logger: silent, killPoint: noKillPoint, pollIntervalMs: 50, standbyRetryMs: 50, batchSize: 3, sessionQueryTimeoutMs: 1_500 });
    relays.push(oldRelay);
    try {
      const objects = Array.from({ length: 4 }, () => randomUUID());
      for (const v of [1, 2]) for (const o of objects) await insert(o, v);
      oldRelay.start();
      await oldPublishing; // rows read, publishes waiting for their acks: mid-batch
      const oldPid = await lockHolderPid();
      proxy.freeze();
      await pool.query('select pg_terminate_backend($1)', [oldPid]);
      terminated = true;
      const newRelay = relay(await database());
      newRelay.start();
      await waitUntil(() => newRelay.active, 'the new relay to take the lock');
      await waitUntil(() => objects.every((o) => published(o).length === 2), 'the new relay to deliver every row');
      // The old relay's in-flight batch reaches the stream now, late; more rows are waiting.
      const late = randomUUID();
      await insert(late, 1);
      releaseOld();
      await waitUntil(() => !oldRelay.active, 'the old relay to give up its turn', 15_000);
      await waitUntil(() => published(late).length === 1, 'the new relay to deliver the late row');
      await waitUntil(async () => (await pool.query('select count(*)::int as n from outbox')).rows[0].n === 0, 'the outbox to drain');
      expect(publishedAfterTermination).toEqual([]);
      expect(oldRelay.published).toBe(0);
      for (const o of [...objects, late]) {
        const seen = received.filter((r) => r.event.uid === o).map((r) => r.msgId);
        expect(seen).toEqual(o === late ? [`${o}/1`] : [`${o}/1`, `${o}/2`]);
      }
    } finally {
      releaseOld();
      await oldRelay.stop();
      proxy.close();
    }
  });

  it("does not hold other objects back behind one whose publish keeps failing, and keeps each object's order", async () => {
    const stuck = randomUUID();
    const others = Array.from({ length: 5 }, () => randomUUID());
    let failing = true;
    const attemptsForStuck: string[] = [];
    const failsForOne = {
      publish: (subject: string, data: string, publishOptions: { msgID: string }) => {
        if (publishOptions.msgID.startsWith(stuck)) {
          attemptsForStuck.push(publishOptions.msgID);
          if (failing) return Promise.reject(new Error('injected publish failure'));
        }
        return publisher.publish(subject, data, publishOptions);
      },
    } as unknown as JetStreamClient;
    // The stuck object's rows come first and fill a whole batch: a relay that retried the head of
    // the table would never reach the others.
    for (let v = 1; v <= 4; v++) await insert(stuck, v);
    for (let v = 1; v <= 3; v++) for (const o of others) await insert(o, v);
    const r = createOutboxRelay({ database: databases[0]!, js: failsForOne, logger: silent, killPoint: noKillPoint, pollIntervalMs: 200, standbyRetryMs: 50, retryDelayMs: 20, maxRetryDelayMs: 200, batchSize: 4 });
    relays.push(r);
    r.start();
    await waitUntil(() => others.every((o) => published(o).length === 3), "the other objects' rows");
    for (const o of others) expect(published(o)).toEqual(['1', '2', '3']);
    expect(published(stuck)).toEqual([]);
    expect(new Set(attemptsForStuck)).toEqual(new Set([`${stuck}/1`])); // never a later row while the first fails
    failing = false;
    await waitUntil(() => published(stuck).length === 4, "the stuck object's rows once publishing works");
    expect(published(stuck)).toEqual(['1', '2', '3', '4']);
  });

  it('waits standbyRetryMs between sessions that fail at once (a schema without the outbox table), not in a tight loop', async () => {
    const bareSchema = uniqueName('relay_bare');
    const bare = await openDatabase({ databaseUrl: TEST_DATABASE_URL, schema: bareSchema, poolSize: 1 });
    databases.push(bare);
    const opened: number[] = [];
    const counting = { ...bare, openRelaySession: (options?: Parameters<OpenDatabase['openRelaySession']>[0]) => (opened.push(Date.now()), bare.openRelaySession(options)) };
    const standbyRetryMs = 150;
    const failing = createOutboxRelay({ database: counting, js: publisher, logger: silent, killPoint: noKillPoint, pollIntervalMs: 60_000, standbyRetryMs });
    relays.push(failing);
    failing.start();
    await waitUntil(() => opened.length >= 4, 'four sessions');
    await failing.stop();
    await pool.query(`drop schema if exists "${bareSchema}" cascade`);
    // Before the fix, the end of each session woke the relay and cut the wait short: a new session every few ms.
    const gaps = opened.slice(1).map((at, i) => at - opened[i]!);
    for (const gap of gaps.slice(0, 3)) expect(gap).toBeGreaterThanOrEqual(standbyRetryMs - 20);
  });

  it('created the stream idempotently, with limits retention, a max age and a duplicate window', async () => {
    const info = await (await jetstreamManager(nc)).streams.info(streamNames(prefix).eventsStream);
    expect(info.config).toMatchObject({ subjects: [`${prefix}.res.>`, `${prefix}.status.>`], retention: 'limits', max_age: 60_000 * 1_000_000, duplicate_window: 60_000 * 1_000_000 });
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

/**
 * A TCP proxy in front of Postgres whose open connections can be frozen: nothing passes either way
 * and neither side's close reaches the other, which is how a network partition looks to a client.
 */
async function startFreezableProxy(databaseUrl: string): Promise<{ url: string; freeze(): void; close(): void }> {
  const target = new URL(databaseUrl);
  const pairs: Array<[Socket, Socket]> = [];
  const server = createServer((client) => {
    const upstream = connectTcp(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    for (const socket of [client, upstream]) socket.on('error', () => undefined);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(address.port);
  return {
    url: url.toString(),
    freeze() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close() {
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      server.close();
    },
  };
}
