import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventSubject, streamNames, TerminalError, type ChangeEvent, type KindDefinition } from '@tugboat/resource-model';
import { pino } from 'pino';
import { createControllerRunner, type ControllerRunner, type ControllerRunnerOptions } from './controller-runner.js';
import { defineController, dependentsOf, type ControllerSpec } from './define-controller.js';
import { ensureControllerStreams, leaseBucketName } from './jetstream-setup.js';
import type { ReconcileReport } from './object-reconciler.js';
import { createFakeApi, type FakeApi } from './testing/fake-api.js';

const gadgetKind: KindDefinition = {
  kind: 'Gadget',
  plural: 'gadgets',
  singular: 'gadget',
  shortNames: [],
  scope: 'Project',
  controller: 'gadget-controller',
  schema: {},
  references: [{ path: 'hubRef', kind: 'Hub' }],
  secretFields: [],
};
// The fake answers as one identity; the tests write a hub's status as its owner would, so that identity owns hubs too.
const hubKind: KindDefinition = { ...gadgetKind, kind: 'Hub', plural: 'hubs', singular: 'hub', controller: 'gadget-controller', references: [] };
const identity = { name: 'gadget-controller', type: 'controller' as const, controller: 'gadget-controller' };

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** One installation per test: its own prefix, streams, lease bucket; a fake API that relays like the real one. */
async function installation(nc: NatsConnection) {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const js = jetstream(nc);
  const published: Array<Promise<unknown>> = [];
  const api: FakeApi = createFakeApi({
    kinds: [gadgetKind, hubKind],
    identity,
    onChange: (event: ChangeEvent) => {
      published.push(js.publish(eventSubject(prefix, event, event.cause), JSON.stringify(event), { msgID: `${event.uid}/${event.resourceVersion}` }));
    },
  });
  const runners: ControllerRunner[] = [];
  const reports: ReconcileReport[] = [];
  const start = async (spec: Partial<ControllerSpec>, overrides: Partial<ControllerRunnerOptions> = {}) => {
    const declaration = defineController({ name: 'gadget-controller', owns: 'Gadget', reconcile: () => undefined, ...spec });
    const runner = createControllerRunner(declaration, {
      api,
      nats: nc,
      prefix,
      replicaId: `r${runners.length + 1}`,
      logger: pino({ level: 'silent' }),
      leaseTtlMs: 1_500,
      ackWaitMs: 3_000,
      backoff: { baseMs: 50, maxMs: 400 },
      leaseBusyDelayMs: 100,
      onReconcile: (report) => reports.push(report),
      ...overrides,
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };
  await ensureControllerStreams(await jetstreamManager(nc), prefix);
  const cleanup = async () => {
    await Promise.all(runners.map((runner) => runner.stop()));
    await Promise.allSettled(published);
    const jsm: JetStreamManager = await jetstreamManager(nc);
    const names = streamNames(prefix);
    for (const stream of [names.eventsStream, names.resyncStream, names.deadLetterStream, `KV_${leaseBucketName(prefix, 'gadget-controller')}`]) {
      await jsm.streams.delete(stream).catch(() => undefined);
    }
  };
  return { prefix, js, api, reports, start, cleanup, flush: () => Promise.all(published) };
}

describe('createControllerRunner (real NATS, fake API)', () => {
  let nc: NatsConnection;
  let env: Awaited<ReturnType<typeof installation>>;
  beforeAll(async () => {
    nc = await connect({ servers: '127.0.0.1:4222' });
  });
  beforeEach(async () => {
    env = await installation(nc);
  });
  afterEach(async () => env.cleanup());
  afterAll(async () => nc.close());

  it('reconciles create and spec update to Ready, finalizes on delete, and serves health and metrics', async () => {
    const { api } = env;
    const finalized: string[] = [];
    const runner = await env.start(
      { reconcile: (ctx, obj) => ctx.setStatus({ outputs: { size: (obj.spec as { size: number }).size } }), finalize: (_ctx, obj) => void finalized.push(obj.metadata.name) },
      { healthPort: 0, healthHost: '127.0.0.1' },
    );
    const key = { kind: 'Gadget', project: 'team-a', name: 'g1' };
    await api.create({ kind: 'Hub', metadata: { name: 'h1', project: 'team-a' }, spec: {} });
    await api.create({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a' }, spec: { size: 1, hubRef: { name: 'h1' } } });
    await until('Ready at generation 1', async () => (await api.get(key))?.status.phase === 'Ready' || undefined);

    await api.patch(key, { spec: { size: 2 } });
    const updated = await until('generation 2 observed', async () => {
      const obj = await api.get(key);
      return obj?.status.observedGeneration === 2 ? obj : undefined;
    });
    expect(updated.status.outputs).toEqual({ size: 2 });

    await api.delete(key);
    await until('object gone after finalize', async () => ((await api.get(key)) === undefined ? true : undefined));
    await until('the finalized report', () => (env.reports.some((r) => r.key.name === 'g1' && r.outcome === 'finalized') ? true : undefined));
    expect(finalized).toEqual(['g1']);
    // Its own status writes did not wake it: one reconcile per change (create, update, delete
    // request, removal), plus at most one from the start-up resync racing the create.
    const g1 = env.reports.filter((r) => r.key.name === 'g1');
    expect(g1.filter((r) => r.outcome === 'done' && r.statusWrittenAt !== undefined)).toHaveLength(2);
    expect(g1.filter((r) => r.outcome === 'done').length).toBeLessThanOrEqual(3);
    expect(g1.map((r) => r.outcome)).toContain('finalized');
    expect(g1.length).toBeLessThanOrEqual(6);

    const base = `http://127.0.0.1:${runner.healthPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const done = /tugboat_controller_reconciles_total\{outcome="done",controller="gadget-controller",replica="r1"\} (\d+)/.exec(metrics);
    expect(Number(done?.[1])).toBe(env.reports.filter((r) => r.outcome === 'done').length);
    expect(metrics).toContain('tugboat_controller_queue_depth');
    await runner.stop();
    expect((await fetch(`${base}/healthz`).catch(() => undefined))?.status).toBeUndefined();
  });

  it('never runs two reconciles of one object at once across replicas, under duplicate events', async () => {
    const { api, js, prefix } = env;
    const running = new Map<string, number>();
    let overlaps = 0;
    const spec: Partial<ControllerSpec> = {
      concurrency: 3,
      reconcile: async (ctx, obj) => {
        const id = obj.metadata.name;
        running.set(id, (running.get(id) ?? 0) + 1);
        if (running.get(id)! > 1) overlaps += 1;
        await new Promise((resolve) => setTimeout(resolve, 40));
        running.set(id, running.get(id)! - 1);
        ctx.setStatus({ outputs: { seen: obj.metadata.generation } });
      },
    };
    // Each replica holds at most two messages, so both must take part.
    await env.start(spec, { maxHeldMessages: 2 });
    await env.start(spec, { maxHeldMessages: 2 });
    const names = ['a', 'b', 'c', 'd'];
    for (const name of names) await api.create({ kind: 'Gadget', metadata: { name, project: 'team-a' }, spec: { size: 0 } });
    for (let round = 1; round <= 3; round += 1) {
      for (const name of names) {
        const obj = await api.patch({ kind: 'Gadget', project: 'team-a', name }, { spec: { size: round } });
        // A duplicate publish of the same change under a different Msg-Id: both replicas may get one.
        const event = api.changes.at(-1)!;
        await js.publish(eventSubject(prefix, event, event.cause), JSON.stringify(event), { msgID: `dup-${obj.metadata.uid}-${round}` });
      }
    }
    await env.flush();
    for (const name of names) {
      await until(`${name} at generation 4`, () => (env.reports.some((r) => r.key.name === name && r.outcome === 'done' && r.generation === 4) ? true : undefined));
      expect((await api.getOrThrow({ kind: 'Gadget', project: 'team-a', name })).status.observedGeneration).toBe(4);
    }
    expect(overlaps).toBe(0);
    const replicas = new Set(env.reports.map((r) => r.replicaId));
    expect(replicas.size).toBe(2);
    // Bounded work: per object 4 changes (+ duplicates), far fewer reconciles than deliveries would allow.
    for (const name of names) expect(env.reports.filter((r) => r.key.name === name && r.outcome === 'done').length).toBeLessThanOrEqual(10);
  });

  it('retries failures with backoff, terms a TerminalError as Failed (until an operator forces a reconcile), and dead-letters garbage with a Warning', async () => {
    const { api, js, prefix } = env;
    const attempts: number[] = [];
    let doomedFixed = false;
    await env.start({
      reconcile: (ctx, obj) => {
        if (obj.metadata.name === 'flaky') {
          attempts.push(ctx.attempt);
          if (ctx.attempt < 3) throw new Error('not yet');
        }
        if (obj.metadata.name === 'doomed' && !doomedFixed) throw new TerminalError('cannot be built');
      },
    });
    await api.create({ kind: 'Gadget', metadata: { name: 'flaky', project: 'team-a' }, spec: {} });
    await api.create({ kind: 'Gadget', metadata: { name: 'doomed', project: 'team-a' }, spec: {} });
    await until('flaky Ready', async () => ((await api.get({ kind: 'Gadget', project: 'team-a', name: 'flaky' }))?.status.phase === 'Ready' ? true : undefined));
    expect(attempts).toEqual([1, 2, 3]);
    const doomed = await until('doomed Failed', async () => {
      const obj = await api.get({ kind: 'Gadget', project: 'team-a', name: 'doomed' });
      return obj?.status.phase === 'Failed' ? obj : undefined;
    });
    expect(doomed.status.conditions?.[0]).toMatchObject({ reason: 'TerminalError', message: 'cannot be built' });
    await until('the terminal report', () => (env.reports.some((r) => r.key.name === 'doomed' && r.outcome === 'terminal') ? true : undefined));
    // Once Failed at its generation, further deliveries (the start-up resync may race) are skipped.
    expect(env.reports.filter((r) => r.key.name === 'doomed' && r.outcome !== 'skipped').map((r) => r.outcome)).toEqual(['terminal']);
    // Fixed outside the spec (say, a quota raised): an operator asks for a reconcile now.
    doomedFixed = true;
    await api.requestReconcile({ kind: 'Gadget', project: 'team-a', name: 'doomed' });
    await until('doomed Ready after a forced reconcile', async () => ((await api.get({ kind: 'Gadget', project: 'team-a', name: 'doomed' }))?.status.phase === 'Ready' ? true : undefined));

    await js.publish(eventSubject(prefix, { kind: 'Gadget', project: 'team-a', name: 'flaky' }, 'spec'), 'not json at all');
    const jsm = await jetstreamManager(nc);
    const dead = await until('a dead letter', async () => {
      const info = await jsm.streams.info(streamNames(prefix).deadLetterStream);
      return info.state.messages === 1 ? info : undefined;
    });
    expect(dead.state.messages).toBe(1);
    const letter = await jsm.streams.getMessage(streamNames(prefix).deadLetterStream, { seq: dead.state.first_seq });
    expect(letter?.header.get('Tugboat-Reason')).toBe('body is not JSON');
    expect(letter?.string()).toBe('not json at all');
    const events = await until('the Warning event', () => {
      const found = api.eventsOf({ kind: 'Gadget', project: 'team-a', name: 'flaky' }).filter((e) => e.reason === 'UndecodableMessage');
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]).toMatchObject({ type: 'Warning' });
  });

  it("wakes owned objects when a watched object's status changes (not its spec), and resyncs existing objects at start (skipping Failed ones)", async () => {
    const { api } = env;
    await api.create({ kind: 'Hub', metadata: { name: 'h1', project: 'team-a' }, spec: { zone: 'a' } });
    await api.writeStatus({ kind: 'Hub', project: 'team-a', name: 'h1' }, { zone: 'a' });
    await api.create({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a' }, spec: { hubRef: { name: 'h1' } } });
    await api.create({ kind: 'Gadget', metadata: { name: 'g2', project: 'team-a' }, spec: {} });
    const failed = await api.create({ kind: 'Gadget', metadata: { name: 'broken', project: 'team-a' }, spec: {} });
    await api.writeStatus({ kind: 'Gadget', project: 'team-a', name: 'broken' }, { phase: 'Failed', observedGeneration: failed.metadata.generation });
    await env.flush();

    const zones: string[] = [];
    await env.start({
      resyncEveryMs: 60_000,
      watches: [{ kind: 'Hub', map: dependentsOf('hubRef') }],
      reconcile: async (ctx, obj) => {
        const hubName = (obj.spec as { hubRef?: { name: string } }).hubRef?.name;
        if (hubName === undefined) return;
        const hub = await ctx.api.getOrThrow({ kind: 'Hub', project: obj.metadata.project, name: hubName });
        const zone = (hub.status as { zone: string }).zone;
        zones.push(zone);
        ctx.setStatus({ outputs: { zone } });
      },
    });
    // Created before the runner existed: only the start-up resync can bring these in.
    await until('g1 and g2 Ready by resync', async () => {
      const both = await Promise.all(['g1', 'g2'].map((name) => api.get({ kind: 'Gadget', project: 'team-a', name })));
      return both.every((obj) => obj?.status.phase === 'Ready') ? true : undefined;
    });
    expect(env.reports.some((r) => r.key.name === 'broken')).toBe(false);

    // The watch consumes the hub's status subject only: its spec change wakes no gadget (were it
    // to, g1 would reconcile once more and see zone a again), the status the hub's owner writes does.
    const jsm = await jetstreamManager(nc);
    const watchConsumer = await jsm.consumers.info(streamNames(env.prefix).eventsStream, 'gadget-controller-Hub-status');
    expect(watchConsumer.config.filter_subject).toBe(`${env.prefix}.status.Hub.>`);
    expect((await jsm.consumers.info(streamNames(env.prefix).eventsStream, 'gadget-controller-Gadget')).config.filter_subject).toBe(`${env.prefix}.res.Gadget.>`);
    await api.patch({ kind: 'Hub', project: 'team-a', name: 'h1' }, { spec: { zone: 'b' } });
    await api.writeStatus({ kind: 'Hub', project: 'team-a', name: 'h1' }, { zone: 'b' });
    await until('g1 follows its hub', async () => ((await api.get({ kind: 'Gadget', project: 'team-a', name: 'g1' }))?.status.outputs?.zone === 'b' ? true : undefined));
    expect(zones).toEqual(['a', 'b']);
  });

  it("with on: 'spec', wakes owned objects when a watched object's spec changes, with no status written", async () => {
    const { api } = env;
    await api.create({ kind: 'Hub', metadata: { name: 'h2', project: 'team-a' }, spec: { zone: 'a' } });
    await api.create({ kind: 'Gadget', metadata: { name: 'g3', project: 'team-a' }, spec: { hubRef: { name: 'h2' } } });
    await env.flush();
    await env.start({
      resyncEveryMs: 60_000,
      watches: [{ kind: 'Hub', on: 'spec', map: dependentsOf('hubRef') }],
      reconcile: async (ctx, obj) => {
        const hubName = (obj.spec as { hubRef?: { name: string } }).hubRef?.name;
        if (hubName === undefined) return;
        const hub = await ctx.api.getOrThrow({ kind: 'Hub', project: obj.metadata.project, name: hubName });
        ctx.setStatus({ outputs: { zone: (hub.spec as { zone: string }).zone } });
      },
    });
    await until('g3 Ready by resync', async () => ((await api.get({ kind: 'Gadget', project: 'team-a', name: 'g3' }))?.status.outputs?.zone === 'a' ? true : undefined));
    const jsm = await jetstreamManager(nc);
    expect((await jsm.consumers.info(streamNames(env.prefix).eventsStream, 'gadget-controller-Hub-spec')).config.filter_subject).toBe(`${env.prefix}.res.Hub.>`);
    await api.patch({ kind: 'Hub', project: 'team-a', name: 'h2' }, { spec: { zone: 'b' } });
    await until('g3 follows its hub’s spec', async () => ((await api.get({ kind: 'Gadget', project: 'team-a', name: 'g3' }))?.status.outputs?.zone === 'b' ? true : undefined));
  });

  it('keeps the message of a long reconcile alive with working(), so no other replica gets it', async () => {
    const { api } = env;
    let calls = 0;
    const spec: Partial<ControllerSpec> = {
      reconcile: async () => {
        calls += 1;
        // Real time on purpose: the server's ack timer is what is under test, and it cannot be faked.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
      },
    };
    await env.start(spec, { ackWaitMs: 1_000 });
    await env.start(spec, { ackWaitMs: 1_000 });
    await api.create({ kind: 'Gadget', metadata: { name: 'long', project: 'team-a' }, spec: {} });
    await until('long reconciled', () => (env.reports.some((r) => r.key.name === 'long' && r.outcome === 'done') ? true : undefined));
    // 2.5 s of work against a 1 s ack wait: without working() the server would have redelivered it twice.
    expect(env.reports.filter((r) => r.key.name === 'long' && r.outcome !== 'skipped').map((r) => r.outcome)).toEqual(['done']);
    expect(calls).toBe(1);
  });

  it('rejects bad options, naming the option and the rule', () => {
    const declaration = defineController({ name: 'gadget-controller', owns: 'Gadget', reconcile: () => undefined });
    const base = { api: env.api, nats: nc, logger: pino({ level: 'silent' }) };
    expect(() => createControllerRunner(declaration, { ...base, ackWaitMs: 10 })).toThrow(/^ackWaitMs: must be a number >= 1000/);
    expect(() => createControllerRunner(declaration, { ...base, prefix: 'a.b' })).toThrow(/^prefix: /);
  });

  it('on stop, lets a running reconcile finish and hands waiting keys back to another replica', async () => {
    const { api } = env;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    const first = await env.start({
      concurrency: 1,
      reconcile: async (_ctx, obj) => {
        if (obj.metadata.name !== 'slow') return;
        entered = true;
        await gate;
      },
    });
    await api.create({ kind: 'Gadget', metadata: { name: 'slow', project: 'team-a' }, spec: {} });
    await until('slow running', () => (entered ? true : undefined));
    await api.create({ kind: 'Gadget', metadata: { name: 'queued', project: 'team-a' }, spec: {} });
    await env.flush();
    // The only worker is busy: the second key waits in r1's local queue.
    const jsm = await jetstreamManager(nc);
    await until('both creates pulled by r1', async () => {
      const info = await jsm.consumers.info(streamNames(env.prefix).eventsStream, 'gadget-controller-Gadget');
      return info.num_ack_pending === 2 ? true : undefined;
    });

    // Stop hands the waiting key back to the server while the running reconcile still holds its
    // message; only then is the reconcile let through to finish.
    const stopped = first.stop();
    await until('the waiting key handed back', async () => {
      const waiting = (await first.metrics.queueDepth.get()).values[0]?.value;
      return waiting === 0 ? true : undefined;
    });
    release();
    await stopped;
    expect(env.reports.find((r) => r.key.name === 'slow')).toMatchObject({ outcome: 'done', replicaId: 'r1' });
    expect((await api.get({ kind: 'Gadget', project: 'team-a', name: 'slow' }))?.status.phase).toBe('Ready');

    await env.start({ concurrency: 1 });
    // The report comes after the status write: wait for the report, not for Ready alone.
    const queued = await until('queued reconciled', () => env.reports.find((r) => r.key.name === 'queued' && r.outcome === 'done'));
    expect(queued.replicaId).toBe('r2');
    expect((await api.get({ kind: 'Gadget', project: 'team-a', name: 'queued' }))?.status.phase).toBe('Ready');
  });
});
