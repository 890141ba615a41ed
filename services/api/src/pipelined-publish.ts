/**
 * JetStream publishes with their acknowledgements collected by one subscription.
 *
 * `js.publish` of nats.js is a request per message: a request object, a timer, and an error object
 * (with a captured stack) made on every success as well, when the request is torn down. The relay
 * publishes a pass of rows at once and waits for all their acks, so that work was ~6 % of the API's
 * busy time under load (CPU profile, e2e/src/bench/README.md). Here each message is a plain publish
 * whose reply subject is `<inbox>.<random token>`; one subscription to `<inbox>.*` takes every ack,
 * and one sweep a quarter second fails the publishes whose time is up. On the wire it is what
 * `js.publish` sends (the `Nats-Msg-Id` header, so the stream deduplicates a re-publish) and what it
 * reads (a PubAck, an `error` object, or a 503 status when no stream takes the subject).
 *
 * The tokens are random, as nats.js's own request tokens are, so an ack cannot be forged for a
 * publish not yet sent (a forged ack would have the relay delete a row the stream never stored).
 * Should the subscription end while the connection lives (a permission change), what waited on it
 * fails and the next publish subscribes again on a new inbox.
 */
import type { PubAck } from '@nats-io/jetstream';
import { createInbox, headers, nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

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
  /** Ends the subscription; what still waits fails, and later publishes fail at once. */
  close(): void;
}

interface Waiting {
  subject: string;
  /** The inbox whose subscription will bring the ack. */
  inbox: string;
  deadline: number;
  resolve(ack: PubAck): void;
  reject(error: Error): void;
}

export function createPipelinedPublisher(nc: NatsConnection, options: PipelinedPublishOptions = {}): PipelinedPublisher {
  const defaultTimeoutMs = options.timeoutMs ?? 5_000;
  const sweepMs = options.sweepMs ?? 250;
  /** By reply subject. */
  const waiting = new Map<string, Waiting>();
  let current: { inbox: string; subscription: Subscription } | undefined;
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let closedBy: Error | undefined;

  function subscribed(): { inbox: string; subscription: Subscription } {
    if (current) return current;
    const inbox = createInbox();
    const subscription = nc.subscribe(`${inbox}.*`, {
      callback: (error, msg) => {
        if (error) {
          end(inbox, subscription, error);
          return;
        }
        const entry = waiting.get(msg.subject);
        if (!entry) return; // timed out already
        waiting.delete(msg.subject);
        settle(entry, msg);
      },
    });
    const opened = { inbox, subscription };
    current = opened;
    // The subscription ends with the connection (or `close`): nothing is left waiting for an ack that cannot come.
    void subscription.closed.then(() => end(inbox, subscription, closedBy ?? new Error('the NATS connection closed before the stream acknowledged')));
    return opened;
  }

  /** The subscription of `inbox` is gone: what waited on it fails; the next publish subscribes again. */
  function end(inbox: string, subscription: Subscription, error: Error): void {
    if (current?.subscription === subscription) current = undefined;
    if (!subscription.isClosed()) subscription.unsubscribe();
    for (const [reply, entry] of waiting) {
      if (entry.inbox !== inbox) continue;
      waiting.delete(reply);
      entry.reject(error);
    }
    if (waiting.size === 0) stopSweeping();
  }

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

  function sweep(): void {
    const now = Date.now();
    for (const [reply, entry] of waiting) {
      if (entry.deadline > now) continue;
      waiting.delete(reply);
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
      if (closedBy) return Promise.reject(closedBy);
      return new Promise<PubAck>((resolve, reject) => {
        try {
          const { inbox } = subscribed();
          const reply = `${inbox}.${nuid.next()}`;
          let header;
          if (publishOptions.msgID !== undefined) {
            header = headers();
            header.set('Nats-Msg-Id', publishOptions.msgID);
          }
          nc.publish(subject, data, { reply, ...(header ? { headers: header } : {}) });
          waiting.set(reply, { subject, inbox, deadline: Date.now() + (publishOptions.timeout ?? defaultTimeoutMs), resolve, reject });
        } catch (error) {
          // A closed or draining connection refuses the subscription or the publish.
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
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
      closedBy = new Error('the publisher was closed');
      if (current) end(current.inbox, current.subscription, closedBy);
      for (const entry of waiting.values()) entry.reject(closedBy);
      waiting.clear();
      stopSweeping();
    },
  };
}
