/**
 * The relay's JetStream publisher against a real NATS server: what `js.publish` answers (the ack,
 * a duplicate, a refusal, no stream, no answer in time), and nothing left waiting once the
 * connection closes.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TEST_NATS_URL, uniqueName } from './api-test-harness.js';
import { createPipelinedPublisher, type PipelinedPublisher } from './pipelined-publish.js';

describe('pipelined publisher', () => {
  const stream = uniqueName('PIPE').toUpperCase();
  const subject = `${stream.toLowerCase()}.events`;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let publisher: PipelinedPublisher;

  beforeAll(async () => {
    nc = await connect({ servers: TEST_NATS_URL });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${subject}.>`], max_msg_size: 1024, duplicate_window: 60_000_000_000 });
    publisher = createPipelinedPublisher(nc, { sweepMs: 20 });
  });

  afterAll(async () => {
    publisher.close();
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  test('many publishes at once each get their own ack, in the stream in the order sent', async () => {
    const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => publisher.publish(`${subject}.a`, JSON.stringify({ i }), { msgID: `a-${i}` })));
    expect(acks.every((ack) => ack.stream === stream && !ack.duplicate)).toBe(true);
    const sequences = acks.map((ack) => ack.seq);
    expect(new Set(sequences).size).toBe(200);
    expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
    const first = await jsm.streams.getMessage(stream, { seq: sequences[0]! });
    expect(first?.json()).toEqual({ i: 0 });
    expect(first?.header?.get('Nats-Msg-Id')).toBe('a-0');
    expect(publisher.waiting).toBe(0);
  });

  test('a publish with a message id the stream has seen is acknowledged as a duplicate, not stored twice', async () => {
    const first = await publisher.publish(`${subject}.d`, 'one', { msgID: 'dup-1' });
    const again = await publisher.publish(`${subject}.d`, 'one', { msgID: 'dup-1' });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
  });

  test('a refusal by the stream fails that publish alone, naming the reason', async () => {
    const results = await Promise.allSettled([
      publisher.publish(`${subject}.r`, 'x'.repeat(2048), { msgID: 'big' }),
      publisher.publish(`${subject}.r`, 'small', { msgID: 'small' }),
    ]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/refused the publish to .*size/i) }) });
    expect(results[1]).toMatchObject({ status: 'fulfilled' });
  });

  test('a subject no stream takes fails at once, and one nothing answers fails after its timeout', async () => {
    await expect(publisher.publish(`${stream.toLowerCase()}.nowhere`, 'x', { msgID: 'n' })).rejects.toThrow(/no JetStream stream takes subject/);
    // A plain subscriber takes the message but never acknowledges it.
    const silentSubject = `${stream.toLowerCase()}.silent`;
    const sub = nc.subscribe(silentSubject);
    await nc.flush();
    const started = Date.now();
    await expect(publisher.publish(silentSubject, 'x', { timeout: 100 })).rejects.toThrow(/no ack from JetStream .* in time/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(publisher.waiting).toBe(0);
    sub.unsubscribe();
  });

  test('closing the connection fails what still waits, and later publishes fail at once', async () => {
    const own = await connect({ servers: TEST_NATS_URL });
    const closing = createPipelinedPublisher(own);
    const silentSubject = `${stream.toLowerCase()}.closing`;
    const sub = nc.subscribe(silentSubject);
    await nc.flush();
    const waiting = closing.publish(silentSubject, 'x', { timeout: 60_000 });
    await own.flush();
    expect(closing.waiting).toBe(1);
    await own.close();
    await expect(waiting).rejects.toThrow(/closed/);
    await expect(closing.publish(`${subject}.c`, 'x')).rejects.toThrow(/closed/);
    sub.unsubscribe();
  });
});
