/**
 * The one stream of change events: subjects `{prefix}.res.>`, limits retention with a maximum age
 * (several controllers read the same subjects), a duplicate window for `Nats-Msg-Id`. Created or
 * updated at start, idempotently, so every replica may call it.
 */
import { JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { allEventsFilter, streamNames } from '@tugboat/resource-model';

const NANOS_PER_MS = 1_000_000;

export interface EventStreamOptions {
  prefix: string;
  /** How long events stay in the stream. Default 24 h. */
  maxAgeMs?: number;
  /** Most messages kept (the oldest go first). Default: no limit. */
  maxMsgs?: number;
  /** Window in which a repeated `Nats-Msg-Id` is dropped. Default 2 min. */
  duplicateWindowMs?: number;
}

export async function ensureEventStream(jsm: JetStreamManager, options: EventStreamOptions): Promise<StreamConfig> {
  const maxAgeMs = options.maxAgeMs ?? 24 * 60 * 60 * 1000;
  const config: Partial<StreamConfig> & { name: string } = {
    name: streamNames(options.prefix).eventsStream,
    subjects: [allEventsFilter(options.prefix)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: maxAgeMs * NANOS_PER_MS,
    max_msgs: options.maxMsgs ?? -1,
    // The server refuses a duplicate window longer than the maximum age.
    duplicate_window: Math.min(options.duplicateWindowMs ?? 120_000, maxAgeMs) * NANOS_PER_MS,
  };
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== 10059) throw error;
    try {
      return (await jsm.streams.add(config)).config;
    } catch (addError) {
      // Another replica created it in between: fall through to the update.
      if (!(addError instanceof JetStreamApiError) || addError.code !== 10058) throw addError;
    }
  }
  const { name, ...update } = config;
  return (await jsm.streams.update(name, update)).config;
}
