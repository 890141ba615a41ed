import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { eventStreamConfig, streamNames } from '@tugboat/resource-model';

const SECOND_NS = 1_000_000_000;
const ms = (value: number): number => value * 1_000_000;

/**
 * The events stream: the API owns its configuration (`eventStreamConfig` in `@tugboat/resource-model`
 * is the one definition). A controller that starts before any API creates it with those defaults so
 * it can bind its consumers; it never changes an existing one, and the API brings it to its own
 * settings (its maximum age, say) at its next start.
 */
export function eventsStreamConfig(prefix: string): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return eventStreamConfig({ prefix }) as unknown as Partial<StreamConfig> & { name: string; subjects: string[] };
}

/**
 * Resync keys (and watch fan-out) for every controller of the installation. Kept an hour: longer
 * than any retry backoff, so a key being retried does not age out between two tries.
 */
export function resyncStreamConfig(prefix: string): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return {
    name: streamNames(prefix).resyncStream,
    subjects: [`${prefix}.resync.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: 3600 * SECOND_NS,
    duplicate_window: 10 * 60 * SECOND_NS,
    num_replicas: 1,
  };
}

export function deadLetterStreamConfig(prefix: string): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return {
    name: streamNames(prefix).deadLetterStream,
    subjects: [`${prefix}.dead.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: 14 * 24 * 3600 * SECOND_NS,
    duplicate_window: 10 * 60 * SECOND_NS,
    num_replicas: 1,
  };
}

const STREAM_NOT_FOUND = 10059;

/** Creates the streams a controller reads and writes if they are missing; leaves existing ones alone. */
export async function ensureControllerStreams(jsm: JetStreamManager, prefix: string): Promise<void> {
  for (const config of [eventsStreamConfig(prefix), resyncStreamConfig(prefix), deadLetterStreamConfig(prefix)]) {
    await ensureStream(jsm, config);
  }
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND)) throw error;
  }
  try {
    await jsm.streams.add(config);
  } catch (error) {
    // Another replica (or the API) created it between our look and our add.
    await jsm.streams.info(config.name).catch(() => {
      throw error;
    });
  }
}

export interface DurableConsumerSpec {
  stream: string;
  durable: string;
  filterSubject: string;
  ackWaitMs: number;
  /** `new` for change events (start-up resync covers what came before), `all` for resync keys. */
  deliver: 'new' | 'all';
}

/** Creates a durable pull consumer, or brings the settings of an existing one up to date. */
export async function ensureDurableConsumer(jsm: JetStreamManager, spec: DurableConsumerSpec): Promise<void> {
  const config = {
    durable_name: spec.durable,
    filter_subject: spec.filterSubject,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ms(spec.ackWaitMs),
    // Unlimited: a key that keeps failing is retried with backoff; resync repairs the rest anyway.
    max_deliver: -1,
    max_ack_pending: 10_000,
    deliver_policy: spec.deliver === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
  };
  try {
    const info = await jsm.consumers.info(spec.stream, spec.durable);
    if (info.config.ack_wait !== config.ack_wait || info.config.filter_subject !== config.filter_subject) {
      await jsm.consumers.update(spec.stream, spec.durable, {
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        max_ack_pending: config.max_ack_pending,
        filter_subject: config.filter_subject,
      });
    }
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== 10014) throw error;
    await jsm.consumers.add(spec.stream, config).catch(async (addError: unknown) => {
      // Created concurrently by another replica: fine if it is there now.
      await jsm.consumers.info(spec.stream, spec.durable).catch(() => {
        throw addError;
      });
    });
  }
}

/** Durable names allow letters, digits, `-` and `_`. */
export function durableName(controller: string, source: string): string {
  return `${controller}-${source}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function leaseBucketName(prefix: string, controller: string): string {
  const upper = streamNames(prefix).eventsStream.replace(/_EVENTS$/, '');
  return `${upper}_LEASES_${controller.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** One KV bucket of leases per controller; its max age only removes entries nobody renews. */
export async function openLeaseBucket(nc: NatsConnection, prefix: string, controller: string, maxAgeMs: number): Promise<KV> {
  return new Kvm(nc).create(leaseBucketName(prefix, controller), { history: 1, ttl: maxAgeMs });
}
