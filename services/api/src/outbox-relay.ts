/**
 * The outbox relay: publishes committed outbox rows to JetStream and deletes them once the server
 * acknowledged them (with the next pass's read, in one statement).
 *
 * - Never skips a late commit: every pass reads the table from its lowest id. A row that committed
 *   after rows with higher ids were published is simply still there on the next pass.
 * - Keeps per-object order: at most one row per object is in flight; an object's next row is only
 *   read after the previous one was acknowledged and deleted. (Rows of one object get ids in commit
 *   order, because every write locks the object's row first.)
 * - One object's failing publish holds back only that object: it is backed off on its own
 *   (exponentially, capped) and left out of the next reads, so other objects' rows fill the batch.
 * - A re-publish after a crash carries the same `Nats-Msg-Id` (`<uid>/<resourceVersion>`), which
 *   the stream drops inside its duplicate window.
 * - Woken by LISTEN/NOTIFY; polls as a fallback. Only the holder of the advisory lock publishes;
 *   other replicas stand by and retry, and take over when the holder's session ends.
 * - Fenced: the relay reads and deletes rows on the very connection that holds the lock, and a
 *   failure of any query there (the server ended the session, or it went silent past the query
 *   timeout) ends the relay's turn before it publishes anything more. A relay whose session died
 *   can therefore not read another batch; what it had in flight was read while it held the lock and
 *   carries the same Msg-Ids the next holder publishes, so the stream keeps one copy.
 * - Does not wait for its own commits to be flushed (`synchronous_commit = off` on its session):
 *   all it commits is the deletion of rows the stream already acknowledged. A Postgres crash can
 *   lose the last such deletions (at most about three `wal_writer_delay`s, 600 ms by default); those
 *   rows are published again under their Msg-Ids, which the stream drops inside its two-minute
 *   duplicate window (past it, a consumer sees the event twice, as at-least-once delivery allows).
 *   No write that was answered depends on it. At a light load every pass deletes the row the last
 *   one published, so before this each pass waited for a WAL flush before it could publish.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { CompiledQuery, sql } from 'kysely';
import type { Logger } from 'pino';
import type { OpenDatabase, RelaySession } from './database.js';
import type { ApiMetrics } from './api-metrics.js';
import { READ_OUTBOX_BATCH, RELAY_GATHER_MIN_ROWS, RELAY_GATHER_MS } from './write-path-statements.js';
import type { KillPoint } from './kill-point.js';

export interface OutboxRelayOptions {
  database: OpenDatabase;
  /** Only `publish` is used; a test hands in one that fails or waits. */
  js: Pick<JetStreamClient, 'publish'>;
  logger: Logger;
  killPoint: KillPoint;
  metrics?: Pick<ApiMetrics, 'commitToPublishSeconds' | 'published' | 'publishFailures'>;
  /** Fallback poll when no notification arrives. Default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * After a pass that published everything it read, how long the relay waits for the next commit
   * before a pass that only deletes the acknowledged rows. Under load the next commit comes first and
   * its pass deletes them in the same statement, so a pass costs one query, not two. Default 50 ms.
   */
  settleMs?: number;
  /**
   * Under load, how long the relay gathers commits before its next read: after a pass that published
   * at least `RELAY_GATHER_MIN_ROWS` (4) rows while another commit came, the next read waits this long, so
   * that one pass carries the commits of several group-commit batches. Below that (a lone commit, or a
   * create and its controller's status write at 100 writes/s) the next read goes at once, so a light
   * load's latency does not pay for it. Default 2 ms; 0 reads at once always.
   */
  gatherMs?: number;
  /** How often a standby tries to take the lock. Default 1000 ms. */
  standbyRetryMs?: number;
  /** Rows read per pass. Default 256. */
  batchSize?: number;
  /** First wait before an object whose publish failed is tried again; doubles per failure. Default 500 ms. */
  retryDelayMs?: number;
  /** Longest wait between retries of one object. Default 10 s. */
  maxRetryDelayMs?: number;
  /** See `RelaySessionOptions.queryTimeoutMs`. Default 30 s. */
  sessionQueryTimeoutMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Stops publishing and releases the lock (its session ends). */
  stop(): Promise<void>;
  /** True while this relay holds the lock and publishes. */
  readonly active: boolean;
  /** Rows this relay has had acknowledged and deleted since start. */
  readonly published: number;
  /** Asks for a pass now: what a NOTIFY does, for writes committed in this process, without the round trip. */
  wake(): void;
}

/** What a pass did: rows acknowledged, publishes failed, and whether it took every row it could (nothing left for an immediate next pass). */
interface PassOutcome {
  acknowledged: number;
  failed: number;
  readAll: boolean;
}

interface OutboxRow {
  id: string;
  object_uid: string;
  subject: string;
  msg_id: string;
  /** The event as published: the row's payload with its `seq`, JSON text (see `READ_OUTBOX_BATCH`). */
  message: string;
  created_at: Date;
}


export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { database, js, killPoint } = options;
  const logger = options.logger.child({ component: 'outbox-relay' });
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const settleMs = options.settleMs ?? 50;
  const gatherMs = options.gatherMs ?? RELAY_GATHER_MS;
  const standbyRetryMs = options.standbyRetryMs ?? 1000;
  const batchSize = options.batchSize ?? 256;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
  const sessionQueryTimeoutMs = options.sessionQueryTimeoutMs ?? 30_000;
  /** Objects whose last publish failed: when they may be tried again, and how often they failed. */
  const backoff = new Map<string, { until: number; failures: number }>();
  /** Rows the stream acknowledged in the last pass: the next read deletes them. */
  let acknowledgedIds: string[] = [];
  const stopping = new AbortController();
  // A wake-up that arrives while a pass runs is kept for the next pause: that pass may have read the
  // table before the commit it announces, and waiting a whole poll interval for it would be a 1 s tail.
  let wakeRequested = false;
  const requestWake = () => {
    wakeRequested = true;
  };
  let wake: () => void = requestWake;
  let active = false;
  let published = 0;
  let running: Promise<void> | undefined;

  /**
   * Resolves after `ms`, on a wake-up (also one that came since the last pause), or on stop. Not
   * `wakeable` (the gather under load): only the time or a stop ends it, and wake-ups that come
   * meanwhile are kept for the next pause.
   */
  function pause(ms: number, options: { wakeable: boolean } = { wakeable: true }): Promise<void> {
    // A stop that came while a pass ran has already fired its abort event: do not wait for it.
    if (stopping.signal.aborted || (options.wakeable && wakeRequested)) {
      if (options.wakeable) wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        if (options.wakeable) wake = requestWake;
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (options.wakeable) wake = done;
      stopping.signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * The lowest rows, leaving out objects still backing off (so they cannot fill the batch). The rows
   * the stream acknowledged in the pass before are deleted by the same statement: one round trip
   * per pass. (A data-modifying `with` does not change what its own select sees, so those rows are
   * left out by id.)
   */
  async function readBatch(session: RelaySession): Promise<OutboxRow[]> {
    const now = Date.now();
    for (const [uid, entry] of backoff) if (entry.until <= now) backoff.delete(uid);
    const done = acknowledgedIds;
    const { rows } = await session.db.executeQuery<OutboxRow & { id: string | number }>(CompiledQuery.raw(READ_OUTBOX_BATCH, [done, [...backoff.keys()], batchSize]));
    counted(done.length);
    return rows.map((r) => ({ ...r, id: String(r.id), created_at: new Date(r.created_at) }));
  }

  /** Deletes what was acknowledged and not yet deleted (the relay's turn ends). */
  async function deleteAcknowledged(session: RelaySession): Promise<void> {
    if (acknowledgedIds.length === 0) return;
    const done = acknowledgedIds;
    await session.db.deleteFrom('outbox').where(sql<boolean>`id = any(${done}::bigint[])`).execute();
    counted(done.length);
  }

  /** Rows acknowledged and deleted: only then are they counted as published. */
  function counted(deleted: number): void {
    acknowledgedIds = [];
    if (deleted === 0) return;
    published += deleted;
    options.metrics?.published.inc(deleted);
  }

  function backOff(uid: string): void {
    const failures = (backoff.get(uid)?.failures ?? 0) + 1;
    const delay = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** Math.min(failures - 1, 20));
    backoff.set(uid, { until: Date.now() + delay, failures });
  }

  /**
   * One pass: how many rows were acknowledged (and deleted) and how many publishes failed. Publish
   * failures back off their object and are not errors of the pass; a database error throws, and
   * ends this relay's turn.
   */
  async function publishPass(session: RelaySession): Promise<PassOutcome> {
    const rows = await readBatch(session);
    if (rows.length === 0) return { acknowledged: 0, failed: 0, readAll: true };
    // The first row of each object only: a second row of the same object waits for the next pass.
    const seen = new Set<string>();
    let inFlight = rows.filter((row) => !seen.has(row.object_uid) && seen.add(row.object_uid));
    inFlight = inFlight.slice(0, killPoint.pass('relay-before-publish', inFlight.length));
    const results = await Promise.allSettled(
      inFlight.map((row) =>
        js.publish(row.subject, row.message, { msgID: row.msg_id, timeout: 5000 }),
      ),
    );
    const acknowledged = inFlight.filter((_, i) => results[i]!.status === 'fulfilled');
    if (acknowledged.length > 0) {
      // Deleted by the next read, on the lock's connection: a relay that lost its session deletes
      // nothing (the next holder re-publishes them, and the stream drops the duplicates).
      acknowledgedIds = acknowledged.map((row) => row.id);
      const now = Date.now();
      for (const row of acknowledged) {
        backoff.delete(row.object_uid);
        options.metrics?.commitToPublishSeconds.observe(Math.max(0, now - row.created_at.getTime()) / 1000);
      }
    }
    const failed = inFlight.filter((_, i) => results[i]!.status === 'rejected');
    if (failed.length > 0) {
      for (const row of failed) backOff(row.object_uid);
      options.metrics?.publishFailures.inc(failed.length);
      const reason = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason;
      logger.warn({ err: String(reason), failed: failed.length, objects: failed.map((row) => row.object_uid) }, 'publish failed; those objects back off, their rows stay in the outbox');
    }
    // Rows left behind: a full batch (more may wait), or a second row of an object held for the next pass.
    return { acknowledged: acknowledged.length, failed: failed.length, readAll: rows.length < batchSize && inFlight.length === rows.length };
  }

  /** How long to wait when a pass published nothing: the poll, or sooner when a backed-off object is due. */
  function idleWaitMs(): number {
    let wait = pollIntervalMs;
    const now = Date.now();
    for (const entry of backoff.values()) wait = Math.min(wait, Math.max(0, entry.until - now));
    return wait;
  }

  async function serve(session: RelaySession): Promise<void> {
    let lostReason: Error | undefined;
    void session.lost.then((reason) => {
      lostReason = reason;
      wake();
    });
    await session.listen(() => wake());
    active = true;
    logger.info({ engine: database.engine, schema: database.schema }, 'relay active');
    try {
      // Passes in a row that published nothing and saw failures: past one, the bus itself is likely
      // down, so the relay waits as a whole instead of walking the backlog one failing batch after another.
      let failingPasses = 0;
      while (!stopping.signal.aborted && !lostReason) {
        let outcome: PassOutcome;
        try {
          outcome = await publishPass(session);
        } catch (error) {
          // The session's connection failed: the lock may be gone with it. Stop here, before any
          // further publish; the caller closes the session and stands by like any other replica.
          lostReason = error instanceof Error ? error : new Error(String(error));
          break;
        }
        if (outcome.acknowledged > 0) {
          failingPasses = 0;
          if (outcome.readAll && wakeRequested && outcome.acknowledged >= RELAY_GATHER_MIN_ROWS && gatherMs > 0) await pause(gatherMs, { wakeable: false });
          else if (outcome.readAll) await pause(Math.min(settleMs, idleWaitMs()));
        } else if (outcome.failed > 0) {
          // The first failing pass goes straight on: its objects are backed off, so the next pass
          // reads other objects. A second one in a row means the bus, not an object: wait.
          if (++failingPasses > 1) await pause(Math.min(maxRetryDelayMs, retryDelayMs * 2 ** Math.min(failingPasses - 2, 20)));
        } else await pause(idleWaitMs());
      }
      if (!lostReason) await deleteAcknowledged(session).catch((error: unknown) => logger.warn({ err: String(error) }, 'could not delete the last acknowledged rows; the next relay re-publishes them (deduplicated)'));
    } finally {
      active = false;
      acknowledgedIds = [];
      backoff.clear();
    }
    if (lostReason && !stopping.signal.aborted) logger.warn({ err: String(lostReason) }, 'relay session lost; standing by');
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      let session: RelaySession | undefined;
      try {
        session = await database.openRelaySession({ queryTimeoutMs: sessionQueryTimeoutMs });
        let lost = false;
        void session.lost.then(() => (lost = true));
        // Stand by on the same session until the lock is ours (its holder's session ended) or ours is lost.
        let announced = false;
        while (!stopping.signal.aborted && !lost && !(await session.tryLock())) {
          if (!announced) logger.info('another relay holds the lock; standing by');
          announced = true;
          await pause(standbyRetryMs);
        }
        if (!stopping.signal.aborted && !lost) await serve(session);
      } catch (error) {
        logger.warn({ err: String(error) }, 'relay session failed');
      } finally {
        await session?.close();
      }
      // A wake-up is for a serving relay (a commit, or its own session's end): it must not cut this
      // wait short, or a session that fails at once (a schema not migrated yet) is retried in a tight loop.
      wakeRequested = false;
      if (!stopping.signal.aborted) await pause(standbyRetryMs);
    }
  }

  return {
    start() {
      running ??= run();
    },
    async stop() {
      stopping.abort();
      await running;
    },
    get active() {
      return active;
    },
    get published() {
      return published;
    },
    wake() {
      wake();
    },
  };
}
