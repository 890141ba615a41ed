/**
 * The API owns the events stream: it creates it, or brings an existing one to its configuration,
 * at every start, idempotently, so every replica may call it. The configuration itself is
 * `eventStreamConfig` in `@tugboat/resource-model`, the one definition the controller SDK uses too.
 */
import { JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { eventStreamConfig, type EventStreamSettings } from '@tugboat/resource-model';

export type EventStreamOptions = EventStreamSettings;

export async function ensureEventStream(jsm: JetStreamManager, options: EventStreamOptions): Promise<StreamConfig> {
  const config = eventStreamConfig(options) as unknown as Partial<StreamConfig> & { name: string };
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== 10059) throw error;
    try {
      return (await jsm.streams.add(config)).config;
    } catch (addError) {
      // Another replica (or a controller that started first) created it in between: fall through to the update.
      if (!(addError instanceof JetStreamApiError) || addError.code !== 10058) throw addError;
    }
  }
  const { name, ...update } = config;
  return (await jsm.streams.update(name, update)).config;
}
