/**
 * JetStream publishes with their acknowledgements collected by one subscription.
 *
 * `js.publish` of nats.js is a request per message: a request object, a timer, and an error object
 * (with a captured stack) made on every success as well, when the request is torn down. The relay
 * publishes a pass of rows at once and waits for all their acks, so that work was ~6 % of the API's
 * busy time under load (CPU profile, e2e/src/bench/README.md). Here each message is a plain publish
 * whose reply subject is `<inbox>.<n>`; one subscription to `<inbox>.*` takes every ack, and one
 * sweep a quarter second fails the publishes whose time is up. On the wire it is what `js.publish`
 * sends (the `Nats-Msg-Id` header, so the stream deduplicates a re-publish) and what it reads (a
 * PubAck, an `error` object, or a 503 status when no stream takes the subject).
 */
import type { PubAck } from '@nats-io/jetstream';
import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';

export interface PipelinedPublishOptions {
  /** Used when a publish names no timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** How often waiting publishes are checked for their timeout. Default 250 ms. */
  sweepMs?: number;
}

export interface PipelinedPublisher {
  /** As `JetStreamClient.publish` for the options the relay uses: `msgID` and `timeout`. */
  publish(subject: string, data: string | Uint8Array, options?: { msgID?: string; timeout?: number }): Promise<PubAck>;
  /** Publishes waiting for their ack now. */
  readonly waiting: number;
  /** Ends the subscription; what still waits fails. */
  close(): void;
}

interface Waiting {
  subject: string;
  deadline: number;
  resolve(ack: PubAck): void;
  reject(error: Error): void;
}

export function createPipelinedPublisher(nc: NatsConnection, options: PipelinedPublishOptions = {}): PipelinedPublisher {
  const defaultTimeoutMs = options.timeoutMs ?? 5_000;
  const sweepMs = options.sweepMs ?? 250;
  const inbox = createInbox();
  const waiting = new Map<number, Waiting>();
  let next = 0;
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let closed: Error | undefined;

  const subscription = nc.subscribe(`${inbox}.*`, {
    callback: (error, msg) => {
      if (error) {
        failAll(error);
        return;
      }
      const id = Number(msg.subject.slice(inbox.length + 1));
      const entry = waiting.get(id);
      if (!entry) return; // timed out already
      waiting.delete(id);
      settle(entry, msg);
    },
  });
  // The subscription ends with the connection (or `close`): nothing is left waiting for an ack that cannot come.
  void subscription.closed.then(() => failAll(new Error('the NATS connection closed before the stream acknowledged')));

  function settle(entry: Waiting, msg: Msg): void {
    if (msg.headers?.hasError) {
      const { code, description } = msg.headers;
      entry.reject(new Error(code === 503 ? `no JetStream stream takes subject ${entry.subject}` : `JetStream refused the publish to ${entry.subject}: ${code} ${description}`));
      return;
    }
    let answer: { stream?: unknown; seq?: unknown; duplicate?: unknown; domain?: unknown; error?: { code?: unknown; description?: unknown } };
    try {
      answer = msg.json();
    } catch {
      entry.reject(new Error(`JetStream answered a publish to ${entry.subject} with something that is not JSON`));
      return;
    }
    if (answer.error) {
      entry.reject(new Error(`JetStream refused the publish to ${entry.subject}: ${String(answer.error.code)} ${String(answer.error.description)}`));
      return;
    }
    if (typeof answer.stream !== 'string' || answer.stream === '' || typeof answer.seq !== 'number') {
      entry.reject(new Error(`JetStream answered a publish to ${entry.subject} with an invalid ack`));
      return;
    }
    entry.resolve({ stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate === true, ...(typeof answer.domain === 'string' ? { domain: answer.domain } : {}) } as PubAck);
  }

  function failAll(error: Error): void {
    closed ??= error;
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
    stopSweeping();
  }

  function sweep(): void {
    const now = Date.now();
    for (const [id, entry] of waiting) {
      if (entry.deadline > now) continue;
      waiting.delete(id);
      entry.reject(new Error(`no ack from JetStream for a publish to ${entry.subject} in time`));
    }
    if (waiting.size === 0) stopSweeping();
  }

  function stopSweeping(): void {
    if (sweeper === undefined) return;
    clearInterval(sweeper);
    sweeper = undefined;
  }

  return {
    publish(subject, data, publishOptions = {}) {
      if (closed) return Promise.reject(closed);
      const id = ++next;
      return new Promise<PubAck>((resolve, reject) => {
        const entry: Waiting = { subject, deadline: Date.now() + (publishOptions.timeout ?? defaultTimeoutMs), resolve, reject };
        let header;
        if (publishOptions.msgID !== undefined) {
          header = headers();
          header.set('Nats-Msg-Id', publishOptions.msgID);
        }
        try {
          nc.publish(subject, data, { reply: `${inbox}.${id}`, ...(header ? { headers: header } : {}) });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        waiting.set(id, entry);
        if (sweeper === undefined) {
          sweeper = setInterval(sweep, sweepMs);
          sweeper.unref();
        }
      });
    },
    get waiting() {
      return waiting.size;
    },
    close() {
      subscription.unsubscribe();
      failAll(new Error('the publisher was closed'));
    },
  };
}
