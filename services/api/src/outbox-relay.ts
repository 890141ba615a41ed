/**
 * The outbox relay: publishes committed outbox rows to JetStream and deletes them once the server
 * acknowledged them.
 *
 * - Never skips a late commit: every pass reads the table from its lowest id. A row that committed
 *   after rows with higher ids were published is simply still there on the next pass.
 * - Keeps per-object order: at most one row per object is in flight; an object's next row is only
 *   read after the previous one was acknowledged and deleted. (Rows of one object get ids in commit
 *   order, because every write locks the object's row first.)
 * - A re-publish after a crash carries the same `Nats-Msg-Id` (`<uid>/<resourceVersion>`), which
 *   the stream drops inside its duplicate window.
 * - Woken by LISTEN/NOTIFY; polls as a fallback. Only the holder of the advisory lock publishes;
 *   other replicas stand by and retry, and take over when the holder's session ends.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { OpenDatabase, RelaySession } from './database.js';
import type { ApiMetrics } from './api-metrics.js';
import type { KillPoint } from './kill-point.js';

export interface OutboxRelayOptions {
  database: OpenDatabase;
  js: JetStreamClient;
  logger: Logger;
  killPoint: KillPoint;
  metrics?: Pick<ApiMetrics, 'commitToPublishSeconds' | 'published' | 'publishFailures'>;
  /** Fallback poll when no notification arrives. Default 1000 ms. */
  pollIntervalMs?: number;
  /** How often a standby tries to take the lock. Default 1000 ms. */
  standbyRetryMs?: number;
  /** Rows read per pass. Default 256. */
  batchSize?: number;
  /** Wait after a failed publish before the next pass. Default 500 ms. */
  retryDelayMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Stops publishing and releases the lock (its session ends). */
  stop(): Promise<void>;
  /** True while this relay holds the lock and publishes. */
  readonly active: boolean;
  /** Rows this relay has had acknowledged since start. */
  readonly published: number;
  /** Asks for a pass now: what a NOTIFY does, for writes committed in this process, without the round trip. */
  wake(): void;
}

interface OutboxRow {
  id: string;
  object_uid: string;
  subject: string;
  msg_id: string;
  payload: Record<string, unknown>;
  created_at: Date;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { database, js, killPoint } = options;
  const logger = options.logger.child({ component: 'outbox-relay' });
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const standbyRetryMs = options.standbyRetryMs ?? 1000;
  const batchSize = options.batchSize ?? 256;
  const retryDelayMs = options.retryDelayMs ?? 500;
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

  /** Resolves after `ms`, on a wake-up (also one that came since the last pause), or on stop. */
  function pause(ms: number): Promise<void> {
    if (wakeRequested) {
      wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        wake = requestWake;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
      stopping.signal.addEventListener('abort', done, { once: true });
    });
  }

  async function readBatch(): Promise<OutboxRow[]> {
    const rows = await database.db.selectFrom('outbox').select(['id', 'object_uid', 'subject', 'msg_id', 'payload', 'created_at']).orderBy('id').limit(batchSize).execute();
    return rows.map((r) => ({ ...r, id: String(r.id), created_at: new Date(r.created_at) }));
  }

  /** One pass: returns how many rows were acknowledged and deleted, or -1 after a failure. */
  async function publishPass(): Promise<number> {
    const rows = await readBatch();
    if (rows.length === 0) return 0;
    // The first row of each object only: a second row of the same object waits for the next pass.
    const seen = new Set<string>();
    let inFlight = rows.filter((row) => !seen.has(row.object_uid) && seen.add(row.object_uid));
    inFlight = inFlight.slice(0, killPoint.pass('relay-before-publish', inFlight.length));
    const results = await Promise.allSettled(
      inFlight.map((row) =>
        js.publish(row.subject, JSON.stringify({ ...row.payload, seq: row.id }), { msgID: row.msg_id, timeout: 5000 }),
      ),
    );
    const acknowledged = inFlight.filter((_, i) => results[i]!.status === 'fulfilled').map((row) => row.id);
    if (acknowledged.length > 0) {
      await database.db.deleteFrom('outbox').where('id', 'in', acknowledged).execute();
      published += acknowledged.length;
      const now = Date.now();
      options.metrics?.published.inc(acknowledged.length);
      for (const row of inFlight) if (acknowledged.includes(row.id)) options.metrics?.commitToPublishSeconds.observe(Math.max(0, now - row.created_at.getTime()) / 1000);
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      options.metrics?.publishFailures.inc(inFlight.length - acknowledged.length);
      logger.warn({ err: String(failed.reason), failed: inFlight.length - acknowledged.length }, 'publish failed; rows stay in the outbox');
      return -1;
    }
    return acknowledged.length;
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
      while (!stopping.signal.aborted && !lostReason) {
        let outcome: number;
        try {
          outcome = await publishPass();
        } catch (error) {
          logger.warn({ err: String(error) }, 'relay pass failed');
          outcome = -1;
        }
        if (outcome < 0) await pause(retryDelayMs);
        else if (outcome === 0) await pause(pollIntervalMs);
      }
    } finally {
      active = false;
    }
    if (lostReason && !stopping.signal.aborted) logger.warn({ err: String(lostReason) }, 'relay session lost; standing by');
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      let session: RelaySession | undefined;
      try {
        session = await database.openRelaySession();
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
