/**
 * The watch fan-out (`GET /v1/watch`): one ordered JetStream consumer per API process over every
 * change event, a bounded ring of recent changes for cheap resumption, and one bounded queue per
 * client. The object of a change is read once (through the store, redacted like every read) and
 * the serialised frame is shared by every client that receives it.
 *
 * The subscription is there only while someone watches: the first watch opens it (from the stream's
 * last sequence), and `idleAfterMs` after the last watch ended it is closed and the ring dropped. A
 * process nobody watches takes in no change (before, every API replica read every change: as much
 * work for NATS as the publish, and ~3 % of the API's time under load). A list's cursor is the hub's
 * position while it follows, and otherwise the stream's last sequence (`cursor()`).
 *
 * Cursors are stream sequences. A cursor inside the ring is served from memory; an older one from
 * a per-request ordered consumer, as long as the stream still holds the next message; otherwise
 * the request is answered 410 before anything is written, and the client re-lists.
 */
import type { ServerResponse } from 'node:http';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { GoneError, InternalError, isErrorCode, streamNames, UnavailableError, type ChangeEvent, type WatchChange, type WatchEventType } from '@tugboat/resource-model';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';

export type { WatchChange, WatchEventType };

/** Turns a change event into what clients see; called once per change, shared by every client. */
export type ChangeReader = (event: ChangeEvent) => Promise<WatchChange>;

export interface WatchFilter {
  /** Canonical kind names; absent = every kind. */
  kinds?: ReadonlySet<string>;
  /** Only objects of this project (`''` = platform-wide objects); absent = every project. */
  project?: string;
  /**
   * What the caller may see (its roles, decided once when the watch starts): events it may not
   * read are never sent. Absent = everything the other fields let through.
   */
  allows?: (event: { kind: string; project: string; name: string }) => boolean;
}

export interface WatchRequest {
  filter: WatchFilter;
  /** Resume after this stream sequence; absent = from now. */
  cursor?: number;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /**
   * Aborted when the caller's token stops working (revoked): the watch ends with an
   * `Unauthenticated` error event whose message is the abort reason.
   */
  revoked?: AbortSignal;
}

export interface WatchHubOptions {
  prefix: string;
  readChange: ChangeReader;
  logger: Logger;
  /** Recent changes kept in memory for resumption. Default 1024. */
  ringSize?: number;
  /** Serialised changes (objects included) kept with the ring, at most. Default 64 MiB. */
  frameCacheBytes?: number;
  /**
   * Changes queued for one client while its socket is full (it does not read fast enough) before it
   * is cut off as too slow. Default 256. Whatever the socket, a client is cut off past
   * `max(8 × clientBufferEvents, 1024)` queued changes, so a queue never grows without limit.
   */
  clientBufferEvents?: number;
  /** Heartbeat comment interval. Default 15 s. */
  heartbeatMs?: number;
  /** Where the hub's metrics go (`tugboat_watch_*`); none when absent. */
  registry?: Registry;
  /** After `TooSlow`, how long the closing stream may take to drain before the connection is reset. Default 5 s. */
  slowClientGraceMs?: number;
  /** How long the subscription stays after the last watch ended (a reconnecting client finds the ring). Default 30 s. */
  idleAfterMs?: number;
}

export interface WatchHub {
  start(nats: NatsConnection): Promise<void>;
  /** Ends every watch and the subscription. */
  stop(): Promise<void>;
  /** The last stream sequence taken in while the hub follows the stream (0 before it first did). */
  readonly position: number;
  /**
   * A list's `metadata.cursor`, read before the list's query: the position while the hub follows
   * the stream, otherwise the stream's last sequence. Never ahead of what a watch delivers: every
   * change up to it was committed before it was published, so the list that follows sees it.
   */
  cursor(): Promise<number>;
  /** Whether the subscription is open now (someone watches, or did within `idleAfterMs`). */
  readonly following: boolean;
  /** Clients currently watching. */
  readonly clientCount: number;
  /**
   * Checks the cursor (throws `GoneError` before writing anything when it is too old), then streams
   * changes into `res` until the client leaves, is cut off, or the hub stops.
   */
  serve(res: ServerResponse, request: WatchRequest): Promise<void>;
}

interface Entry {
  seq: number;
  event: ChangeEvent;
  frame?: Promise<string> | undefined;
  frameSize?: number | undefined;
}

interface Client {
  id: number;
  filter: WatchFilter;
  /** Live entries must be after this sequence. */
  after: number;
  live: Entry[];
  /** Catching up (ring replay or stream) or processing an entry. */
  busy: boolean;
  lastSentSeq: number;
  closed: boolean;
  res: ServerResponse;
  wake: (() => void) | undefined;
  close(reason: 'left' | 'TooSlow' | 'Gone' | 'Unavailable' | 'Unauthenticated' | 'stopping', message?: string): void;
}

const DEFAULTS = { ringSize: 1024, clientBufferEvents: 256, heartbeatMs: 15_000, slowClientGraceMs: 5_000, frameCacheBytes: 64 * 1024 * 1024, idleAfterMs: 30_000 };

export function createWatchHub(options: WatchHubOptions): WatchHub {
  const logger = options.logger.child({ component: 'watch-hub' });
  const ringSize = options.ringSize ?? DEFAULTS.ringSize;
  const clientBufferEvents = options.clientBufferEvents ?? DEFAULTS.clientBufferEvents;
  const clientQueueCap = Math.max(8 * clientBufferEvents, 1024);
  const frameCacheBytes = options.frameCacheBytes ?? DEFAULTS.frameCacheBytes;
  const cached: Entry[] = [];
  let cachedBytes = 0;
  const heartbeatMs = options.heartbeatMs ?? DEFAULTS.heartbeatMs;
  const slowClientGraceMs = options.slowClientGraceMs ?? DEFAULTS.slowClientGraceMs;
  const idleAfterMs = options.idleAfterMs ?? DEFAULTS.idleAfterMs;
  const streamName = streamNames(options.prefix).eventsStream;
  // No filter subject: the watch reads the whole events stream, desired-state and status changes alike.

  let js: JetStreamClient | undefined;
  let jsm: JetStreamManager | undefined;
  let messages: ConsumerMessages | undefined;
  let deleteConsumer: (() => Promise<unknown>) | undefined;
  let reading: Promise<void> | undefined;
  let stopping = false;
  /** The open subscription, or its opening (shared by watches that arrive together). */
  let following: Promise<void> | undefined;
  /** The subscription's closing, once idle: a watch that arrives meanwhile opens a new one after it. */
  let closing: Promise<void> | undefined;
  /** Watches between their arrival and their registration: the subscription is not closed under them. */
  let arriving = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  /** Counts the subscriptions closed on purpose: a reader of an earlier one ends instead of subscribing again. */
  let subscription = 0;
  let heartbeat: NodeJS.Timeout | undefined;
  let position = 0;
  /** The ring holds every change with a sequence in (ringStart, position]. */
  let ringStart = 0;
  const ring: Entry[] = [];
  const clients = new Set<Client>();
  let nextClientId = 1;
  const registers = options.registry ? [options.registry] : [];
  const metrics = {
    changes: new Counter({ name: 'tugboat_watch_changes_total', help: 'Change events the watch hub took in from the stream', registers }),
    ended: new Counter({ name: 'tugboat_watch_ended_total', help: 'Watches the API ended with an error event, by code', labelNames: ['code'], registers }),
    clients: new Gauge({
      name: 'tugboat_watch_clients',
      help: 'Watches open now',
      registers,
      collect() {
        this.set(clients.size);
      },
    }),
  };

  function frameOf(entry: Entry): Promise<string> {
    entry.frame ??= options.readChange(entry.event).then(
      (change) => {
        const frame = changeFrame(entry.seq, change);
        keepFrame(entry, frame.length);
        return frame;
      },
      (error: unknown) => {
        // Not memoised: the next client that needs it reads again.
        entry.frame = undefined;
        throw error;
      },
    );
    return entry.frame;
  }

  /** Frames stay with their entries up to `frameCacheBytes`; past it the oldest are dropped (and read again if a resume needs them). */
  function keepFrame(entry: Entry, size: number): void {
    entry.frameSize = size;
    cached.push(entry);
    cachedBytes += size;
    while (cachedBytes > frameCacheBytes && cached.length > 0) {
      const oldest = cached.shift()!;
      cachedBytes -= oldest.frameSize ?? 0;
      oldest.frame = undefined;
      oldest.frameSize = undefined;
    }
  }

  function matches(filter: WatchFilter, event: ChangeEvent): boolean {
    return (
      (filter.kinds === undefined || filter.kinds.has(event.kind)) &&
      (filter.project === undefined || filter.project === event.project) &&
      (filter.allows === undefined || filter.allows(event))
    );
  }

  function decode(message: JsMsg): ChangeEvent | undefined {
    try {
      const event = message.json<ChangeEvent>();
      if (typeof event.kind === 'string' && typeof event.name === 'string' && typeof event.uid === 'string') return event;
    } catch {
      // fall through
    }
    logger.warn({ seq: message.seq, subject: message.subject }, 'undecodable change event skipped');
    return undefined;
  }

  function take(message: JsMsg): void {
    if (message.seq <= position) return;
    if (message.seq !== position + 1) {
      // The stream dropped messages the hub never saw (e.g. NATS was away longer than the max age):
      // nobody can be served a complete history across the gap, so every watcher re-lists.
      logger.warn({ expected: position + 1, got: message.seq }, 'gap in the change stream; watchers must re-list');
      for (const client of [...clients]) client.close('Gone', 'changes were lost in the stream; re-list');
      ring.length = 0;
      ringStart = message.seq - 1;
    }
    position = message.seq;
    metrics.changes.inc();
    const event = decode(message);
    if (event === undefined) return;
    const entry: Entry = { seq: message.seq, event };
    ring.push(entry);
    if (ring.length > ringSize) ringStart = ring.shift()!.seq;
    let wanted = false;
    for (const client of clients) {
      if (entry.seq <= client.after || !matches(client.filter, event)) continue;
      // A queue that waits on our own reads (a burst) is not the client's fault; one that waits on a full socket is.
      if (client.live.length >= clientQueueCap || (client.live.length >= clientBufferEvents && client.res.writableNeedDrain)) {
        client.close('TooSlow', `more than ${client.live.length} changes waiting to be sent`);
        continue;
      }
      client.live.push(entry);
      client.wake?.();
      wanted = true;
    }
    // Read the object now, while the clients' pumps write what came before.
    if (wanted) frameOf(entry).catch(() => undefined);
  }

  async function start(nats: NatsConnection): Promise<void> {
    js = jetstream(nats);
    jsm = await jetstreamManager(nats);
    // The stream is there (the API made it before): a missing one fails the start, not the first watch.
    await jsm.streams.info(streamName);
    stopping = false;
    heartbeat = setInterval(beat, heartbeatMs);
    heartbeat.unref();
    logger.info('watch hub started; it follows the stream while someone watches');
  }

  /** Opens the subscription from the stream's last sequence, unless it is open or opening. */
  async function follow(): Promise<void> {
    if (closing) await closing;
    following ??= (async () => {
      const info = await jsm!.streams.info(streamName);
      position = info.state.last_seq;
      ringStart = position;
      ring.length = 0;
      await subscribe();
      reading = read();
      logger.info({ position }, 'watch hub follows the stream');
    })().catch((error: unknown) => {
      following = undefined;
      throw error;
    });
    await following;
  }

  /** The last watch ended: after `idleAfterMs` with none, the subscription closes and the ring goes. */
  function idleLater(): void {
    if (clients.size > 0 || arriving > 0 || stopping || idleTimer) return;
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (clients.size > 0 || arriving > 0 || stopping || !following) return;
      const open = following;
      closing = (async () => {
        await open.catch(() => undefined);
        following = undefined;
        await unsubscribe();
        ring.length = 0;
        for (const entry of cached) entry.frame = undefined;
        cached.length = 0;
        cachedBytes = 0;
        logger.info({ position }, 'watch hub stopped following the stream: nobody watches');
      })().finally(() => {
        closing = undefined;
      });
    }, idleAfterMs);
    idleTimer.unref();
  }

  /** Closes the subscription and waits for its reader to end. */
  async function unsubscribe(): Promise<void> {
    subscription++;
    const open = messages;
    messages = undefined;
    const reader = reading;
    reading = undefined;
    await open?.close().catch(() => undefined);
    await reader;
    await deleteConsumer?.().catch(() => undefined);
    deleteConsumer = undefined;
  }

  /** The one subscription: an ordered consumer from the message after `position`. */
  async function subscribe(): Promise<void> {
    const { state } = await jsm!.streams.info(streamName);
    if (state.last_seq < position) {
      // The stream was replaced (its sequences start again): nothing before can be resumed.
      logger.warn({ position, streamLast: state.last_seq }, 'the change stream was reset; watchers must re-list');
      for (const client of [...clients]) client.close('Gone', 'the change stream was reset; re-list');
      ring.length = 0;
      position = state.last_seq;
      ringStart = position;
    }
    const consumer = await js!.consumers.get(streamName, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: position + 1,
    });
    deleteConsumer = () => consumer.delete();
    messages = await consumer.consume({ max_messages: 256 });
  }

  /** Takes in every message; if the subscription ends on its own (the stream was replaced …), subscribes again. */
  async function read(): Promise<void> {
    const own = subscription;
    // Ends when the hub stops or the subscription was closed on purpose (idle).
    const closed = () => stopping || subscription !== own;
    for (let attempt = 0; !closed(); attempt++) {
      try {
        if (attempt > 0) await subscribe();
        for await (const message of messages!) take(message);
        if (closed()) return;
        logger.warn({ position }, 'watch subscription ended; subscribing again');
      } catch (error) {
        if (closed()) return;
        logger.error({ err: String(error), position }, 'watch subscription failed; subscribing again');
      }
      await deleteConsumer?.().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** Math.min(attempt, 6))).unref());
    }
  }

  function beat(): void {
    for (const client of clients) {
      if (client.busy || client.live.length > 0) continue;
      // An `id:` without data moves the client's cursor without an event, so a filtered watcher
      // that saw nothing for long does not resume from a cursor the stream no longer holds.
      const progress = position > client.lastSentSeq ? `id: ${position}\n` : '';
      if (progress) client.lastSentSeq = position;
      client.res.write(`: heartbeat\n${progress}\n`);
    }
  }

  async function stop(): Promise<void> {
    stopping = true;
    if (heartbeat) clearInterval(heartbeat);
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    for (const client of [...clients]) client.close('stopping');
    await closing;
    await following?.catch(() => undefined);
    following = undefined;
    await unsubscribe();
  }

  async function cursor(): Promise<number> {
    // An opening subscription's position is the stream's last sequence once it is open.
    const open = closing ? undefined : following;
    if (open && (await open.then(() => true, () => false)) && following === open && !closing) return position;
    return (await streamBounds()).last;
  }

  /** The first and last sequences the stream holds now. */
  async function streamBounds(): Promise<{ first: number; last: number }> {
    if (!jsm) throw new InternalError('the watch hub is not started');
    const { state } = await jsm.streams.info(streamName);
    return { first: state.first_seq, last: state.last_seq };
  }

  async function serve(res: ServerResponse, request: WatchRequest): Promise<void> {
    // Until it is registered (or refused), a watch keeps the subscription from closing under it.
    let pending = true;
    arriving++;
    // The idle wait starts again when the last watch after this one ends.
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    const arrived = (): void => {
      if (pending) arriving--;
      pending = false;
    };
    try {
      await watch(res, request, arrived);
    } finally {
      arrived();
      idleLater();
    }
  }

  /** Opens the subscription if need be, checks the cursor, then registers the client (`arrived`) and streams to it. */
  async function watch(res: ServerResponse, request: WatchRequest, arrived: () => void): Promise<void> {
    const { filter, cursor, signal } = request;
    if (!js) throw new InternalError('the watch hub is not started');
    if (stopping) throw new UnavailableError('the API is stopping');
    await follow().catch((error: unknown) => {
      // The bus is away (or the stream is): a watch can be tried again, and nothing was written yet.
      throw new UnavailableError(`the change stream cannot be read now (${error instanceof Error ? error.message : String(error)}); retry`, { retryAfterSeconds: 1 });
    });
    if (cursor !== undefined && (cursor < ringStart || cursor > position)) {
      const bounds = await streamBounds();
      if (cursor > bounds.last) {
        throw new GoneError(`cursor ${cursor} is ahead of the change stream (last ${bounds.last}); it was reset: re-list`, {
          details: [{ path: 'cursor', rule: 'gone' }],
        });
      }
      if (cursor < bounds.last && cursor + 1 < bounds.first) {
        throw new GoneError(`cursor ${cursor} is too old: the change stream now starts at ${bounds.first}; re-list`, {
          details: [{ path: 'cursor', rule: 'gone' }],
        });
      }
    }
    if (signal.aborted) return;

    // From here to the registration nothing awaits, so no change can slip between the two.
    const handoff = position;
    const from = cursor ?? handoff;
    const replay = from >= ringStart ? ring.filter((entry) => entry.seq > from && matches(filter, entry.event)) : undefined;
    // Ends a catch-up from the stream when the watch ends, whoever ends it.
    const ended = new AbortController();
    const client = register(res, filter, Math.max(from, handoff), () => ended.abort());
    arrived();

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Never reused: the socket closes when the watch ends, also while the server stops.
      connection: 'close',
      'x-accel-buffering': 'no',
    });
    // Sent at once so the client knows the watch is established (and its proxies flush).
    res.write(': watching\n\n');
    const onAbort = (): void => client.close('left');
    const onRevoked = (): void => client.close('Unauthenticated', String(request.revoked?.reason ?? 'the token stopped working'));
    signal.addEventListener('abort', onAbort, { once: true });
    if (request.revoked?.aborted) onRevoked();
    else request.revoked?.addEventListener('abort', onRevoked, { once: true });
    try {
      await pump(client, replay ?? (from < handoff ? catchUp(from + 1, handoff, filter, ended.signal) : []));
    } finally {
      signal.removeEventListener('abort', onAbort);
      request.revoked?.removeEventListener('abort', onRevoked);
    }
  }

  function register(res: ServerResponse, filter: WatchFilter, after: number, onClose: () => void): Client {
    let graceTimer: NodeJS.Timeout | undefined;
    const client: Client = {
      id: nextClientId++,
      filter,
      after,
      live: [],
      busy: true,
      lastSentSeq: after,
      closed: false,
      res,
      wake: undefined,
      close(reason, message) {
        if (client.closed) return;
        client.closed = true;
        clients.delete(client);
        idleLater();
        client.live.length = 0;
        client.wake?.();
        onClose();
        if (reason === 'left') {
          res.destroy();
          return;
        }
        if (reason !== 'stopping') {
          metrics.ended.inc({ code: reason });
          logger.warn({ client: client.id, reason, message }, reason === 'TooSlow' ? 'watch client too slow: cut off' : 'watch ended with an error');
          res.write(`event: error\ndata: ${JSON.stringify({ code: reason, message })}\n\n`);
        }
        res.end();
        // A client that stopped reading never lets the end drain: reset the connection.
        graceTimer = setTimeout(() => {
          if (!res.writableFinished) res.socket?.resetAndDestroy();
        }, slowClientGraceMs);
        graceTimer.unref();
        res.once('finish', () => clearTimeout(graceTimer));
      },
    };
    clients.add(client);
    return client;
  }

  /** Writes one frame; waits while the socket is full. */
  async function send(client: Client, frame: string): Promise<void> {
    if (client.closed) return;
    if (!client.res.write(frame)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          client.res.off('drain', done);
          client.res.off('close', done);
          resolve();
        };
        client.res.on('drain', done);
        client.res.on('close', done);
      });
    }
  }

  async function pump(client: Client, backlog: Iterable<Entry> | AsyncIterable<Entry>): Promise<void> {
    try {
      for await (const entry of backlog) {
        if (client.closed) return;
        await sendEntry(client, entry);
      }
      while (!client.closed) {
        const entry = client.live.shift();
        if (entry === undefined) {
          client.busy = false;
          await new Promise<void>((resolve) => (client.wake = resolve));
          client.wake = undefined;
          client.busy = true;
          continue;
        }
        await sendEntry(client, entry);
      }
    } catch (error) {
      if (isErrorCode(error, 'Gone')) client.close('Gone', (error as Error).message);
      else {
        logger.error({ client: client.id, err: String(error) }, 'watch failed');
        client.close('Unavailable', 'changes could not be read; resume from the last id');
      }
    }
  }

  async function sendEntry(client: Client, entry: Entry): Promise<void> {
    const frame = await frameOf(entry);
    await send(client, frame);
    client.lastSentSeq = Math.max(client.lastSentSeq, entry.seq);
  }

  /** The changes in [from, to] straight from the stream, for a cursor older than the ring. */
  async function* catchUp(from: number, to: number, filter: WatchFilter, signal: AbortSignal): AsyncGenerator<Entry> {
    const consumer = await js!.consumers.get(streamName, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    const stream = await consumer.consume({ max_messages: 64 });
    const stopOnAbort = (): void => void stream.close().catch(() => undefined);
    if (signal.aborted) stopOnAbort();
    else signal.addEventListener('abort', stopOnAbort, { once: true });
    try {
      let expected = from;
      for await (const message of stream) {
        // The stream dropped what this client still needed (it passed its limits while catching up).
        if (message.seq !== expected) throw new GoneError(`the change stream no longer holds ${expected}; re-list`);
        expected = message.seq + 1;
        const event = decode(message);
        // Each catching-up client reads its own objects: these changes are not in the shared ring.
        if (event && matches(filter, event)) yield { seq: message.seq, event };
        if (message.seq >= to) break;
      }
    } finally {
      signal.removeEventListener('abort', stopOnAbort);
      await stream.close().catch(() => undefined);
      await consumer.delete().catch(() => undefined);
    }
  }

  return {
    start,
    stop,
    serve,
    get position() {
      return position;
    },
    cursor,
    get following() {
      return following !== undefined && closing === undefined;
    },
    get clientCount() {
      return clients.size;
    },
  };
}

function changeFrame(seq: number, change: WatchChange): string {
  return `id: ${seq}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`;
}
