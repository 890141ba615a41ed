import type { JetStreamClient } from '@nats-io/jetstream';
import type { ApiClient } from '@tugboat/api-client';
import { resyncSubject, type ResourceKey } from '@tugboat/resource-model';
import type { Logger } from 'pino';
import type { LeaseManager } from './lease-manager.js';
import { abortableSleep as sleep } from './abortable-sleep.js';
import { failedAtGeneration } from './object-status.js';

export interface ResyncPublisherOptions {
  controller: string;
  owns: string;
  api: ApiClient;
  js: Pick<JetStreamClient, 'publish'>;
  leases: LeaseManager;
  prefix: string;
  logger: Logger;
  resyncEveryMs: number;
  /**
   * The lease (in the controller's bucket) that one replica holds while publishing, with the time
   * of the last completed round. Default `resync`; a runner of several kinds gives each its own.
   */
  leaseKey?: string;
  /** Publishing one round is spread over this long (at most 500 ms between two keys). Default a quarter of the period. */
  spreadMs?: number;
  now?: () => number;
  onPublished?: (count: number) => void;
}

export type ResyncRound = 'published' | 'not-due' | 'busy';

export interface ResyncPublisher {
  /** One check: if no round completed within the period and the resync lease is free, publish one. */
  runOnce(signal: AbortSignal): Promise<ResyncRound>;
  /** Checks at once, then a few times per period, until the signal aborts. */
  run(signal: AbortSignal): Promise<void>;
}

/** The resync lease of a controller that owns one kind (kept as it was: rolling upgrades share it). */
export const RESYNC_LEASE = 'resync';

/**
 * The resync lease of one kind of a controller that owns several: KV keys allow letters, digits,
 * `-`, `_`, `/`, `=` and `.`, and an object's lease key always holds a `/`, so this cannot clash.
 */
export function resyncLeaseKey(kind: string): string {
  return `${RESYNC_LEASE}.${kind}`;
}
const MAX_GAP_MS = 500;

/**
 * Re-enqueues every owned object once per period, across all replicas: one replica holds the
 * resync lease, records when it completed a round in it, and publishes each key with a Msg-Id of
 * controller, uid and period, so a round taken over half way by another replica repeats nothing.
 * Objects Failed at their current generation are skipped.
 */
export function createResyncPublisher(options: ResyncPublisherOptions): ResyncPublisher {
  const now = options.now ?? Date.now;
  const period = options.resyncEveryMs;
  const spreadMs = options.spreadMs ?? Math.floor(period / 4);
  const leaseKey = options.leaseKey ?? RESYNC_LEASE;

  async function runOnce(signal: AbortSignal): Promise<ResyncRound> {
    const acquired = await options.leases.acquire(leaseKey);
    if (!acquired.held) return 'busy';
    const lease = acquired.lease;
    const lastCompletedAt = typeof lease.previous.lastCompletedAt === 'number' ? lease.previous.lastCompletedAt : 0;
    const startedAt = now();
    if (startedAt - lastCompletedAt < period) {
      await lease.release(lease.previous);
      return 'not-due';
    }
    const both = AbortSignal.any([signal, lease.signal]);
    try {
      const index = Math.floor(startedAt / period);
      const keys: Array<ResourceKey & { uid: string; generation: number }> = [];
      for await (const obj of options.api.listAll(options.owns, { signal: both })) {
        if (failedAtGeneration(obj.status, obj.metadata.generation)) continue;
        keys.push({ kind: obj.kind, project: obj.metadata.project, name: obj.metadata.name, uid: obj.metadata.uid, generation: obj.metadata.generation });
      }
      // Spread, but never so thin that a handful of objects takes minutes to come round.
      const gapMs = keys.length > 1 ? Math.min(spreadMs / keys.length, MAX_GAP_MS) : 0;
      for (const [position, key] of keys.entries()) {
        both.throwIfAborted();
        const body = JSON.stringify({ kind: key.kind, project: key.project, name: key.name, uid: key.uid, generation: key.generation, cause: 'resync' });
        await options.js.publish(resyncSubject(options.prefix, options.controller, key), body, {
          msgID: `${options.controller}:${key.uid}:${index}`,
        });
        if (position < keys.length - 1 && gapMs > 0) await sleep(gapMs, both);
      }
      options.onPublished?.(keys.length);
      options.logger.info({ keys: keys.length, period: index }, 'resync round published');
      await lease.release({ lastCompletedAt: startedAt });
      return 'published';
    } catch (error) {
      await lease.release(lease.previous);
      throw error;
    }
  }

  return {
    runOnce,
    async run(signal) {
      const checkEveryMs = Math.min(Math.max(Math.floor(period / 4), 250), 30_000);
      while (!signal.aborted) {
        await runOnce(signal).catch((error: unknown) => {
          if (!signal.aborted) options.logger.warn({ err: error }, 'resync round failed; trying again later');
        });
        // Jitter keeps the replicas from asking for the lease in step.
        await sleep(checkEveryMs * (0.75 + Math.random() / 2), signal).catch(() => undefined);
      }
    },
  };
}
