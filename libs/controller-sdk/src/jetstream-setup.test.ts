import { randomUUID } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventStreamConfig, streamNames } from '@tugboat/resource-model';
import { ensureControllerStreams } from './jetstream-setup.js';

describe('ensureControllerStreams (real NATS)', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const prefixes: string[] = [];
  beforeAll(async () => {
    nc = await connect({ servers: '127.0.0.1:4222' });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const names = streamNames(prefix);
      for (const name of [names.eventsStream, names.resyncStream, names.deadLetterStream]) await jsm.streams.delete(name).catch(() => undefined);
    }
    await nc.close();
  });

  it("creates a missing events stream from the one shared definition, and never changes the API's", async () => {
    const first = `s${randomUUID().slice(0, 8)}`;
    prefixes.push(first);
    await ensureControllerStreams(jsm, first);
    const shared = eventStreamConfig({ prefix: first });
    expect((await jsm.streams.info(shared.name)).config).toMatchObject({ subjects: shared.subjects, max_age: shared.max_age, duplicate_window: shared.duplicate_window, retention: 'limits' });

    // The API created it first, with its own maximum age: a controller starting later leaves it so.
    const second = `s${randomUUID().slice(0, 8)}`;
    prefixes.push(second);
    const apiConfig = eventStreamConfig({ prefix: second, maxAgeMs: 3_600_000, maxMsgs: 1_000 });
    await jsm.streams.add(apiConfig as unknown as Parameters<typeof jsm.streams.add>[0]);
    await ensureControllerStreams(jsm, second);
    expect((await jsm.streams.info(apiConfig.name)).config).toMatchObject({ max_age: apiConfig.max_age, max_msgs: 1_000 });
  });
});
