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

  /** Inbox subscriptions of the shared publisher, so the re-subscribe test can tell its own apart. */
  const publisherInboxes = new Set<string>();
  afterEach(() => {
    const all = (nc as unknown as { protocol: { subscriptions: { all(): Array<{ subject: string }> } } }).protocol.subscriptions.all();
    for (const s of all) if (s.subject.startsWith('_INBOX.') && s.subject.endsWith('.*')) publisherInboxes.add(s.subject);
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

  test('reply subjects carry random tokens: an ack cannot be forged for a publish not yet sent', async () => {
    const watched = `${subject}.tokens`;
    const replies: string[] = [];
    const tap = nc.subscribe(watched, {
      callback: (_error, msg) => {
        replies.push(msg.reply ?? '');
      },
    });
    await nc.flush();
    await Promise.all([0, 1, 2].map((i) => publisher.publish(watched, String(i), { msgID: `t-${i}` })));
    await nc.flush();
    tap.unsubscribe();
    expect(replies).toHaveLength(3);
    const tokens = replies.map((reply) => reply.slice(reply.lastIndexOf('.') + 1));
    for (const token of tokens) expect(token).toMatch(/^[0-9A-Za-z]{22}$/);
    expect(new Set(tokens).size).toBe(3);
  });

  test('when its subscription ends while the connection lives, what waited fails and the next publish subscribes again', async () => {
    const own = createPipelinedPublisher(nc, { sweepMs: 20 });
    const silentSubject = `${stream.toLowerCase()}.resubscribe`;
    const sub = nc.subscribe(silentSubject);
    await nc.flush();
    const pending = own.publish(silentSubject, 'x', { timeout: 60_000 });
    // The publisher's ack subscription, found among the connection's (as a permission change would end it).
    const inboxes = () => (nc as unknown as { protocol: { subscriptions: { all(): Array<{ subject: string; unsubscribe(): void }> } } }).protocol.subscriptions.all().filter((s) => s.subject.startsWith('_INBOX.') && s.subject.endsWith('.*'));
    const ackSubscription = inboxes().find((s) => !publisherInboxes.has(s.subject))!;
    ackSubscription.unsubscribe();
    await expect(pending).rejects.toThrow(/closed|stream acknowledged/);
    expect(own.waiting).toBe(0);
    const ack = await own.publish(`${subject}.again`, 'x', { msgID: 'again-1' });
    expect(ack.stream).toBe(stream);
    own.close();
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
