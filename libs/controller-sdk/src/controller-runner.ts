import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { ApiClient } from '@tugboat/api-client';
import {
  deadLetterSubject,
  DEFAULT_PREFIX,
  InputError,
  isErrorCode,
  kindDesiredStateFilter,
  kindStatusFilter,
  keyString,
  resyncFilter,
  resyncSubject,
  streamNames,
  type ChangeEvent,
  type ResourceKey,
} from '@tugboat/resource-model';
import { pino, type Logger } from 'pino';
import { abortableSleep } from './abortable-sleep.js';
import type { Clock } from './clock.js';
import { settlesWithin } from './settles-within.js';
import { decodeKeyMessage, type KeyMessage } from './change-message.js';
import { createControllerMetrics, type ControllerMetrics } from './controller-metrics.js';
import { controllerParts, type RunnableController } from './controller-parts.js';
import type { WatchSpec } from './define-controller.js';
import { startHealthServer, type HealthServer } from './health-server.js';
import { durableName, ensureControllerStreams, ensureDurableConsumer, openLeaseBucket } from './jetstream-setup.js';
import { createKvLeaseManager, type LeaseManager } from './lease-manager.js';
import { createObjectReconciler, type Disposition, type ObjectReconciler, type ReconcileReport } from './object-reconciler.js';
import { createResyncPublisher, RESYNC_LEASE, resyncLeaseKey } from './resync-publisher.js';
import { feedReadCache, type ReadCacheFeed } from './read-cache-feed.js';
import { createReadCache, uncachedReads, type ReadCache, type ReadCacheStats } from './read-cache.js';
import { retryDelayMs, type RetryDelayOptions } from './retry-delay.js';
import { createWorkQueue, type WorkItem } from './work-queue.js';

export interface ControllerRunnerOptions {
  api: ApiClient;
  /** The runner uses it but does not own it: close or drain it after `stop()`. */
  nats: NatsConnection;
  /** Subject and stream prefix of the installation. Default `tugboat`. */
  prefix?: string;
  /** Names this replica in logs, metrics and leases. Default the host name. */
  replicaId?: string;
  logger?: Logger;
  /** Port of `/healthz`, `/readyz`, `/metrics`; `0` picks a free one; absent: no server. */
  healthPort?: number;
  healthHost?: string;
  /**
   * Lease on one object (renewed every third). Default 10 s. A replica that dies holding an object
   * lets another take it over within about this long, provided `ackWaitMs` is not longer.
   */
  leaseTtlMs?: number;
  /**
   * The consumers' ack wait; held messages are kept alive with `working()` every third. A dead
   * replica's messages come back to the others after this long, so keep it at most `leaseTtlMs`.
   * Default half the lease TTL (at least 1 s).
   */
  ackWaitMs?: number;
  /** How long `stop()` lets running reconciles finish before aborting them. Default 10 s. */
  shutdownTimeoutMs?: number;
  backoff?: RetryDelayOptions;
  /** Upper bound of the wait before retrying an object another replica holds. Default 1 s. */
  leaseBusyDelayMs?: number;
  /** A resync round is spread over this long. Default a quarter of `resyncEveryMs`. */
  resyncSpreadMs?: number;
  /**
   * Reconciles at once in this process, over all its declarations (the workers are shared: any of
   * them takes the next object of any kind). Default the sum of the declarations' `concurrency`.
   */
  concurrency?: number;
  /** Messages pulled but not yet settled, at most. Default 8 × concurrency. */
  maxHeldMessages?: number;
  /** Called after every reconcile with its report (for logs, tests, audits). */
  onReconcile?: (report: ReconcileReport) => void;
  /** Lease expiry and renewal timers. Default the system clock. */
  clock?: Clock;
  /** The read cache's safety net: an entry is read again after this long without any event. Default 60 s. */
  cacheMaxAgeMs?: number;
  /** Entries the read cache keeps at most (least recently used out first). Default 5,000. */
  cacheMaxEntries?: number;
}

export interface ControllerRunner {
  /** Creates streams, consumers and the lease bucket, then starts pulling, reconciling and resyncing. */
  start(): Promise<void>;
  /** Stops pulling, hands waiting messages back, lets running reconciles finish (up to the timeout), releases leases. */
  stop(): Promise<void>;
  isReady(): boolean;
  readonly metrics: ControllerMetrics;
  readonly replicaId: string;
  /** The health server's port once started (useful with `healthPort: 0`). */
  readonly healthPort: number | undefined;
  /** The read cache's counters (all zero when no declaration caches a kind). */
  cacheStats(): ReadCacheStats;
}

interface Source {
  role: 'owned' | 'watched' | 'resync';
  stream: string;
  durable: string;
  filterSubject: string;
  deliver: 'new' | 'all';
  /** A watched source: every declaration watching this kind on this channel, with the kind it owns. */
  watchers?: Watcher[];
}

interface Watcher {
  watch: WatchSpec;
  owns: string;
}

interface Delivery {
  msg: JsMsg;
  source: Source['role'];
  cause: KeyMessage['cause'];
}

/**
 * Runs one controller identity: one declaration, or several with the same `name` that each own
 * one kind (one connection, work queue, lease bucket, health server and metrics registry for all;
 * each object goes to the declaration that owns its kind).
 */
export function createControllerRunner(declarations: RunnableController, options: ControllerRunnerOptions): ControllerRunner {
  const { name: controller, parts, byKind } = controllerParts(declarations);
  const ownedKinds = parts.map((part) => part.owns);
  checkRunnerOptions(options);
  // The workers are shared: any of them takes the next object of any kind.
  const concurrency = options.concurrency ?? parts.reduce((sum, part) => sum + part.concurrency, 0);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const names = streamNames(prefix);
  const replicaId = options.replicaId ?? hostname();
  const holder = `${replicaId}/${randomUUID().slice(0, 8)}`;
  const logger = (options.logger ?? pino({ level: 'info' })).child({ controller, replica: replicaId });
  const leaseTtlMs = options.leaseTtlMs ?? 10_000;
  // A message held by a replica that died comes back after the ack wait: no later than the lease
  // expires, so the hand-over is bounded by the lease, not by the ack wait (it used to be 30 s).
  const ackWaitMs = options.ackWaitMs ?? Math.max(1_000, Math.floor(leaseTtlMs / 2));
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const maxHeld = options.maxHeldMessages ?? concurrency * 8;
  const queue = createWorkQueue<Delivery>();
  const metrics = createControllerMetrics(controller, replicaId, { depth: () => queue.depth, held: () => queue.held });
  const stopPulling = new AbortController();
  const hardStop = new AbortController();
  // Each waiting worker listens on the first, each running reconcile (and its reads for watched
  // kinds) on the second, and each stops listening when done: past node's default of 10 listeners
  // that is this process's concurrency, not a leak (a leak still warns, past this bound).
  setMaxListeners(2 * concurrency + 16, stopPulling.signal, hardStop.signal);
  const batches = new Set<ConsumerMessages>();
  const consumers = new Map<string, Consumer>();
  const tasks: Array<Promise<void>> = [];
  const cacheKinds = parts.flatMap((part) => part.cache);
  const cache: ReadCache | undefined =
    cacheKinds.length === 0
      ? undefined
      : createReadCache({
          api: options.api,
          kinds: cacheKinds,
          // With a cache fed, a reconcile starts from what this replica's last status write left,
          // while nothing else changed the object since: no read of it before each reconcile.
          owned: ownedKinds,
          ...(options.cacheMaxAgeMs === undefined ? {} : { maxAgeMs: options.cacheMaxAgeMs }),
          ...(options.cacheMaxEntries === undefined ? {} : { maxEntries: options.cacheMaxEntries }),
        });
  const mapReads: ReadCache = cache ?? uncachedReads(options.api);
  let cacheFeed: ReadCacheFeed | undefined;

  // One durable per filter subject, named after what it filters, so a name never changes its filter:
  // `{controller}-{Kind}` takes the owned kind's desired-state changes (never its own status writes),
  // `{controller}-{Kind}-status` a watched kind's status changes, `{controller}-{Kind}-spec` its
  // desired-state changes (a watch with `on: 'spec'`). Declarations of one controller that watch
  // the same kind on the same channel share its durable: each maps the change to its own keys.
  const watched = new Map<string, Source>();
  for (const part of parts) {
    for (const watch of part.watches) {
      const durable = durableName(controller, `${watch.kind}-${watch.on ?? 'status'}`);
      const filterSubject = watch.on === 'spec' ? kindDesiredStateFilter(prefix, watch.kind) : kindStatusFilter(prefix, watch.kind);
      const source = watched.get(durable) ?? { role: 'watched', stream: names.eventsStream, durable, filterSubject, deliver: 'new', watchers: [] };
      source.watchers!.push({ watch, owns: part.owns });
      watched.set(durable, source);
    }
  }
  const sources: Source[] = [
    ...parts.map(
      (part): Source => ({ role: 'owned', stream: names.eventsStream, durable: durableName(controller, part.owns), filterSubject: kindDesiredStateFilter(prefix, part.owns), deliver: 'new' }),
    ),
    ...watched.values(),
    // One resync durable whatever the kinds: the name and filter a one-kind controller always had.
    { role: 'resync', stream: names.resyncStream, durable: durableName(controller, 'resync'), filterSubject: resyncFilter(prefix, controller), deliver: 'all' },
  ];

  let js: JetStreamClient;
  let leases: LeaseManager;
  let health: HealthServer | undefined;
  let started = false;
  let stopping = false;
  let pullFailures = 0;
  let heartbeat: NodeJS.Timeout | undefined;

  async function ensureAll(): Promise<void> {
    const jsm = await jetstreamManager(options.nats);
    await ensureControllerStreams(jsm, prefix);
    for (const source of sources) await ensureDurableConsumer(jsm, { ...source, ackWaitMs });
    consumers.clear();
  }

  function settle(item: WorkItem<Delivery>, disposition: Disposition): void {
    // One message carries the outcome (a retry stays durable on the server); the others are done.
    const [primary, ...rest] = [...item.deliveries].reverse();
    for (const delivery of rest) delivery.msg.ack();
    if (primary === undefined) return;
    if (disposition.action === 'ack') primary.msg.ack();
    else if (disposition.action === 'nak') primary.msg.nak(disposition.delayMs);
    else primary.msg.term(disposition.reason);
  }

  /** Hands each key to the reconciler of the declaration that owns its kind. */
  const reconcileObject = (): ObjectReconciler => {
    const reconcilers = new Map(
      parts.map((part) => [
        part.owns,
        createObjectReconciler({
          declaration: part,
          api: options.api,
          ...(cache === undefined ? {} : { cache }),
          leases,
          logger,
          replicaId,
          ...(options.clock === undefined ? {} : { now: () => options.clock!.now() }),
          ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
          ...(options.leaseBusyDelayMs === undefined ? {} : { leaseBusyDelayMs: options.leaseBusyDelayMs }),
        }),
      ]),
    );
    return (key, stopSignal, request) => {
      const reconcile = reconcilers.get(key.kind);
      // `receive` lets only owned kinds into the queue; this is the last guard.
      if (reconcile === undefined) throw new Error(`${controller} owns no ${key.kind}`);
      return reconcile(key, stopSignal, request);
    };
  };

  async function worker(reconcile: ObjectReconciler): Promise<void> {
    for (;;) {
      const item = await queue.take(stopPulling.signal);
      if (item === undefined) return;
      let report: ReconcileReport | undefined;
      let settled = false;
      const settleOnce = (disposition: Disposition) => {
        if (settled) return;
        settled = true;
        settle(item, disposition);
      };
      try {
        // An operator's "reconcile now" (cause `reconcile` on the owned kind) runs even for a Failed object.
        const force = item.deliveries.some((delivery) => delivery.source === 'owned' && delivery.cause === 'reconcile');
        // A change of the object itself delivered for the first time may be ahead of the read cache's
        // feed: such a reconcile reads the object, never what its last status write left.
        const fresh = item.deliveries.some((delivery) => delivery.source === 'owned' && delivery.msg.info.deliveryCount <= 1);
        report = await reconcile(item.key, hardStop.signal, { force, fresh, settle: settleOnce });
        settleOnce(report.disposition);
      } catch (error) {
        logger.error({ err: error, object: item.id }, 'reconcile machinery failed');
        settleOnce({ action: 'nak', delayMs: retryDelayMs(1, options.backoff) });
      } finally {
        queue.finish(item);
      }
      if (report !== undefined) {
        metrics.reconciles.inc({ outcome: report.outcome, kind: report.key.kind });
        metrics.reconcileSeconds.observe({ outcome: report.outcome, kind: report.key.kind }, (report.finishedAt - report.startedAt) / 1000);
        const level = report.outcome === 'error' || report.outcome === 'terminal' || report.outcome === 'aborted' ? 'warn' : 'debug';
        logger[level]({ object: item.id, outcome: report.outcome, attempt: report.attempt, ms: report.finishedAt - report.startedAt }, 'reconciled');
        try {
          options.onReconcile?.(report);
        } catch (error) {
          logger.warn({ err: error }, 'onReconcile hook threw');
        }
      }
    }
  }

  async function pull(source: Source): Promise<void> {
    while (!stopPulling.signal.aborted) {
      await queue.whenHeldBelow(maxHeld, stopPulling.signal);
      if (stopPulling.signal.aborted) return;
      try {
        let consumer = consumers.get(source.durable);
        if (consumer === undefined) {
          consumer = await js.consumers.get(source.stream, source.durable);
          consumers.set(source.durable, consumer);
        }
        const batch = await consumer.fetch({ max_messages: Math.max(1, Math.min(64, maxHeld - queue.held)), expires: 2_000 });
        batches.add(batch);
        try {
          for await (const msg of batch) await receive(source, msg);
        } finally {
          batches.delete(batch);
        }
        pullFailures = 0;
      } catch (error) {
        if (stopPulling.signal.aborted) return;
        pullFailures += 1;
        consumers.delete(source.durable);
        logger.warn({ err: error, consumer: source.durable }, 'pulling failed; retrying');
        await abortableSleep(retryDelayMs(pullFailures, { baseMs: 250, maxMs: 5_000 }), stopPulling.signal).catch(() => undefined);
        // The server may have lost the consumer (a restart without its store); recreate what is missing.
        await ensureAll().catch((ensureError: unknown) => logger.warn({ err: ensureError }, 'could not ensure streams and consumers'));
      }
    }
  }

  async function receive(source: Source, msg: JsMsg): Promise<void> {
    if (stopping) {
      msg.nak();
      return;
    }
    const decoded = decodeKeyMessage(msg.data, msg.subject, prefix);
    if (!decoded.ok) return deadLetter(source, msg, decoded.reason, decoded.key);
    const message = decoded.message;
    if (source.role === 'owned') {
      // The owner's consumer filters desired-state changes only; a status event here can only be one
      // published by hand on the wrong subject, and it still wakes no one.
      if (message.cause === 'status') return msg.ack();
      return queue.add(message, { msg, source: source.role, cause: message.cause });
    }
    if (source.role === 'resync') {
      if (!byKind.has(message.kind)) return deadLetter(source, msg, `resync key names ${message.kind}, not ${ownedKinds.join(' or ')}`, message);
      return queue.add(message, { msg, source: source.role, cause: message.cause });
    }
    return fanOut(source.watchers!, msg, message);
  }

  /**
   * A watched object's change becomes one resync-stream message per owned key it maps to, so each
   * key gets its own durable retry; the Msg-Id makes a repeat after a crash harmless.
   */
  async function fanOut(watchers: readonly Watcher[], msg: JsMsg, message: KeyMessage): Promise<void> {
    try {
      const event = { seq: String(msg.seq), at: msg.time.toISOString(), uid: '', generation: 0, resourceVersion: '', ...message } as ChangeEvent;
      // Every declaration watching this kind maps the change (a failure retries all: the Msg-Ids
      // make the keys already published harmless); a key two of them name is published once.
      const keys = new Map<string, ResourceKey>();
      for (const { watch, owns } of watchers) {
        for (const key of await watch.map(event, { api: options.api, cache: mapReads, logger, signal: hardStop.signal, owns })) {
          if (!byKind.has(key.kind)) {
            logger.warn(
              { watched: watch.kind, mapped: keyString(key), owns: ownedKinds },
              `watch mapped to ${key.kind}, a kind this controller does not own (it owns ${ownedKinds.join(', ')}); ignored`,
            );
            continue;
          }
          keys.set(keyString(key), key);
        }
      }
      for (const [id, key] of keys) {
        const body = JSON.stringify({ kind: key.kind, project: key.project, name: key.name, cause: 'resync', via: keyString(message) });
        await js.publish(resyncSubject(prefix, controller, key), body, {
          msgID: `watch:${message.uid ?? ''}:${message.resourceVersion ?? msg.seq}:${id}`,
        });
      }
      msg.ack();
    } catch (error) {
      logger.warn({ err: error, watched: keyString(message) }, 'watch mapping failed; retrying');
      msg.nak(retryDelayMs(msg.info.deliveryCount, options.backoff));
    }
  }

  async function deadLetter(source: Source, msg: JsMsg, reason: string, key: ResourceKey | undefined): Promise<void> {
    const h = headers();
    h.set('Tugboat-Reason', reason);
    h.set('Tugboat-Original-Subject', msg.subject);
    h.set('Tugboat-Original-Stream', source.stream);
    h.set('Tugboat-Original-Sequence', String(msg.seq));
    try {
      await js.publish(deadLetterSubject(prefix, controller), msg.data, { headers: h, msgID: `${source.stream}:${msg.seq}` });
    } catch (error) {
      logger.warn({ err: error }, 'could not dead-letter a message; it will come back');
      msg.nak(5_000);
      return;
    }
    msg.term(reason);
    metrics.deadLetters.inc();
    logger.warn({ subject: msg.subject, reason }, 'undecodable message moved to the dead-letter stream');
    if (key === undefined) return;
    await options.api
      .recordEvent(key, { type: 'Warning', reason: 'UndecodableMessage', message: `${controller} could not decode a message on ${msg.subject}: ${reason}; moved to ${names.deadLetterStream}` })
      .catch((error: unknown) => {
        if (!isErrorCode(error, 'NotFound')) logger.warn({ err: error }, 'could not record the dead-letter event');
      });
  }

  const runner: ControllerRunner = {
    get metrics() {
      return metrics;
    },
    replicaId,
    get healthPort() {
      return health?.port;
    },

    cacheStats: () => mapReads.stats(),

    isReady() {
      return started && !stopping && !options.nats.isClosed() && pullFailures < 3;
    },

    async start() {
      if (started) throw new Error('runner already started');
      js = jetstream(options.nats);
      await ensureAll();
      // Following its kinds' changes before the first reconcile: until then reads go to the API.
      if (cache !== undefined) cacheFeed = await feedReadCache(cache, { nats: options.nats, prefix, logger });
      const longestResyncMs = Math.max(...parts.map((part) => part.resyncEveryMs));
      const kv = await openLeaseBucket(options.nats, prefix, controller, Math.max(5 * 60_000, 10 * leaseTtlMs, 2 * longestResyncMs));
      leases = createKvLeaseManager({
        kv,
        holder,
        ttlMs: leaseTtlMs,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        onLost: (key) => {
          metrics.leaseLosses.inc();
          logger.warn({ object: key }, 'lease lost');
        },
      });
      if (options.healthPort !== undefined) {
        health = await startHealthServer({ port: options.healthPort, host: options.healthHost, isReady: () => runner.isReady(), registry: metrics.registry });
      }
      heartbeat = setInterval(() => {
        for (const delivery of queue.allDeliveries()) delivery.msg.working();
      }, Math.max(250, Math.floor(ackWaitMs / 3)));
      heartbeat.unref();

      const reconcile = reconcileObject();
      for (let i = 0; i < concurrency; i += 1) tasks.push(worker(reconcile));
      for (const source of sources) tasks.push(pull(source));
      for (const part of parts) {
        // Each kind has its own round and period. A one-kind controller keeps the lease key it always
        // had, so replicas of the previous version and of this one share it during a rolling upgrade.
        const resync = createResyncPublisher({
          controller,
          owns: part.owns,
          api: options.api,
          js,
          leases,
          prefix,
          logger: parts.length === 1 ? logger : logger.child({ owns: part.owns }),
          resyncEveryMs: part.resyncEveryMs,
          leaseKey: parts.length === 1 ? RESYNC_LEASE : resyncLeaseKey(part.owns),
          ...(options.resyncSpreadMs === undefined ? {} : { spreadMs: options.resyncSpreadMs }),
          onPublished: (count) => metrics.resyncPublished.inc({ kind: part.owns }, count),
        });
        tasks.push(resync.run(stopPulling.signal));
      }
      started = true;
      logger.info({ owns: ownedKinds, consumers: sources.map((s) => s.durable), concurrency }, 'controller started');
    },

    async stop() {
      if (!started || stopping) return;
      stopping = true;
      logger.info('stopping: no more pulls; letting running reconciles finish');
      stopPulling.abort();
      queue.close();
      // Bounded: with the bus gone, closing a pull or releasing a lease could wait for a reconnect.
      await settlesWithin(Promise.all([...batches].map((batch) => batch.close().catch(() => undefined))), 1_000);
      // Waiting keys go back to the server at once, so another replica picks them up.
      for (const delivery of queue.removeWaiting()) delivery.msg.nak();
      const finished = Promise.all(tasks).then(() => true);
      if (!(await settlesWithin(finished, shutdownTimeoutMs))) {
        logger.warn({ timeoutMs: shutdownTimeoutMs }, 'reconciles still running at the shutdown timeout; aborting them');
        hardStop.abort(new Error('controller shutting down'));
        await settlesWithin(finished, 5_000);
      }
      clearInterval(heartbeat);
      await cacheFeed?.stop();
      await settlesWithin(leases.releaseAll(), 2_000);
      await health?.close();
      logger.info('stopped');
    },
  };
  return runner;
}


function checkRunnerOptions(options: ControllerRunnerOptions): void {
  const minimums: Array<[keyof ControllerRunnerOptions, number]> = [
    ['leaseTtlMs', 300],
    // The server's shortest useful ack wait; pulls expire after a second anyway.
    ['ackWaitMs', 1_000],
    ['shutdownTimeoutMs', 0],
    ['maxHeldMessages', 1],
    ['leaseBusyDelayMs', 1],
    ['resyncSpreadMs', 0],
  ];
  for (const [name, minimum] of minimums) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < minimum)) {
      throw new InputError(`${name}: must be a number >= ${minimum}`, { details: [{ path: name, rule: 'minimum' }] });
    }
  }
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    throw new InputError('concurrency: must be an integer >= 1', { details: [{ path: 'concurrency', rule: 'minimum' }] });
  }
  if (options.prefix !== undefined && !/^[A-Za-z0-9_-]+$/.test(options.prefix)) {
    throw new InputError('prefix: must be letters, digits, "-" or "_" (one subject token)', { details: [{ path: 'prefix', rule: 'pattern' }] });
  }
}
