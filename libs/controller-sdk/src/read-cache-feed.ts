import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { kindDesiredStateFilter, kindStatusFilter } from '@tugboat/resource-model';
import type { Logger } from 'pino';
import { keyFromSubject } from './change-message.js';
import type { ReadCache } from './read-cache.js';

export interface ReadCacheFeed {
  stop(): Promise<void>;
}

/**
 * Feeds a read cache with the change events of its kinds: a plain subscription per kind and
 * channel on the events stream's subjects (`{prefix}.res.{Kind}.>`, and `{prefix}.status.{Kind}.>`
 * for a kind cached on `all` and for the controller's owned kinds, whose status events tell whether
 * its last status write is still what is stored), so every replica sees every change, which the controller's durable
 * consumers (shared by the replicas, each message to one) cannot give. A plain subscription
 * holds nothing on the server, and loses what is published while it is away: so the cache is
 * dropped and serves nothing on a disconnect, and goes live again only once the subscriptions are
 * back on the server (a flush after the reconnect); a subscription error or a slow consumer drops
 * everything too.
 */
export async function feedReadCache(cache: ReadCache, options: { nats: NatsConnection; prefix: string; logger: Logger }): Promise<ReadCacheFeed> {
  const { nats, prefix, logger } = options;
  if (cache.kinds.size === 0 && cache.owned.size === 0) return { stop: async () => undefined };
  const subscriptions: Subscription[] = [];
  let stopped = false;
  const statusPrefix = `${prefix}.status.`;
  const onMessage = (error: Error | null, msg: Msg | undefined): void => {
    if (error !== null || msg === undefined) {
      logger.warn({ err: error }, 'read cache subscription failed: dropping the cache');
      cache.setLive(false);
      return;
    }
    const key = keyFromSubject(msg.subject, prefix);
    if (key === undefined) cache.dropAll(`undecodable subject ${msg.subject}`);
    else if (msg.subject.startsWith(statusPrefix)) cache.changed(key, { resourceVersion: () => resourceVersionOf(msg.data) });
    else cache.changed(key);
  };
  // Desired state of every cached kind, status of those cached on `all`; both channels of the owned
  // kinds (their status events tell whether this replica's last write is still what is stored).
  const subjects = new Set<string>();
  for (const [kind, channel] of cache.kinds) {
    subjects.add(kindDesiredStateFilter(prefix, kind));
    if (channel === 'all') subjects.add(kindStatusFilter(prefix, kind));
  }
  for (const kind of cache.owned) {
    subjects.add(kindDesiredStateFilter(prefix, kind));
    subjects.add(kindStatusFilter(prefix, kind));
  }
  for (const subject of subjects) subscriptions.push(nats.subscribe(subject, { callback: onMessage }));

  // Live again after a reconnect only once the server holds the subscriptions again (they are sent
  // before the flush's PING); a reconnect while flushing makes the older flush's answer moot.
  let generation = 0;
  const goLive = async (): Promise<void> => {
    const mine = ++generation;
    cache.setLive(false);
    try {
      await nats.flush();
    } catch (error) {
      logger.warn({ err: error }, 'read cache: flush failed; staying off until the next reconnect');
      return;
    }
    if (mine === generation && !stopped && !nats.isClosed()) cache.setLive(true);
  };

  const statuses = nats.status();
  const watching = (async () => {
    for await (const status of statuses) {
      if (stopped) return;
      switch (status.type) {
        case 'disconnect':
        case 'staleConnection':
        case 'forceReconnect':
        case 'close':
          generation += 1;
          cache.setLive(false);
          break;
        case 'reconnect':
          void goLive();
          break;
        case 'slowConsumer':
          cache.dropAll('slow consumer');
          break;
        default:
          break;
      }
    }
  })().catch((error: unknown) => logger.warn({ err: error }, 'read cache: status watch ended'));

  await goLive();
  return {
    async stop() {
      stopped = true;
      generation += 1;
      cache.setLive(false);
      for (const subscription of subscriptions) subscription.unsubscribe();
      (statuses as { stop?: () => void }).stop?.();
      await Promise.race([watching, new Promise((resolve) => setTimeout(resolve, 100).unref())]);
    },
  };
}

/** A change event's resourceVersion; `undefined` for a body that does not carry one (it then counts as any change). */
function resourceVersionOf(data: Uint8Array): string | undefined {
  try {
    const body = JSON.parse(new TextDecoder().decode(data)) as { resourceVersion?: unknown };
    return typeof body.resourceVersion === 'string' ? body.resourceVersion : undefined;
  } catch {
    return undefined;
  }
}
