import { randomUUID } from 'node:crypto';
import { getMaxListeners } from 'node:events';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ApiClient } from '@tugboat/api-client';
import { eventSubject, InputError, resyncSubject, streamNames, TerminalError, type ChangeEvent, type KindDefinition } from '@tugboat/resource-model';
import { pino } from 'pino';
import type { RunnableController } from './controller-parts.js';
import { createControllerRunner, type ControllerRunner, type ControllerRunnerOptions } from './controller-runner.js';
import { defineController, dependentsOf, type ControllerSpec } from './define-controller.js';
import { ensureControllerStreams, leaseBucketName } from './jetstream-setup.js';
import type { ReconcileReport } from './object-reconciler.js';
import { runController } from './run-controller.js';
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
// A second kind the same controller identity owns (as the infra-controller owns AwsAccount and EksCluster).
const widgetKind: KindDefinition = { ...gadgetKind, kind: 'Widget', plural: 'widgets', singular: 'widget' };
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
    kinds: [gadgetKind, hubKind, widgetKind],
    identity,
    onChange: (event: ChangeEvent) => {
      published.push(js.publish(eventSubject(prefix, event, event.cause), JSON.stringify(event), { msgID: `${event.uid}/${event.resourceVersion}` }));
    },
  });
  const runners: ControllerRunner[] = [];
  const reports: ReconcileReport[] = [];
  const startRunner = async (declarations: RunnableController, overrides: Partial<ControllerRunnerOptions> = {}) => {
    const runner = createControllerRunner(declarations, {
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
  const start = (spec: Partial<ControllerSpec>, overrides: Partial<ControllerRunnerOptions> = {}) =>
    startRunner(defineController({ name: 'gadget-controller', owns: 'Gadget', reconcile: () => undefined, ...spec }), overrides);
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
  const leaseKeys = async () => {
    const kv = await new Kvm(nc).open(leaseBucketName(prefix, 'gadget-controller'));
    const keys: string[] = [];
    for await (const key of await kv.keys()) keys.push(key);
    return keys.sort();
  };
  return { prefix, js, api, reports, start, startRunner, leaseKeys, cleanup, flush: () => Promise.all(published) };
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
    const done = /tugboat_controller_reconciles_total\{outcome="done",kind="Gadget",controller="gadget-controller",replica="r1"\} (\d+)/.exec(metrics);
    expect(Number(done?.[1])).toBe(env.reports.filter((r) => r.outcome === 'done').length);
    expect(metrics).toContain('tugboat_controller_queue_depth');
    await runner.stop();
    expect((await fetch(`${base}/healthz`).catch(() => undefined))?.status).toBeUndefined();
  });

  it('answers ctx.cache reads of a declared kind from memory, and the next reconcile after a change of it sees the change', async () => {
    const { api } = env;
    let hubReads = 0;
    const get = api.get.bind(api);
    api.get = ((ref, options) => {
      if (ref.kind === 'Hub') hubReads += 1;
      return get(ref, options);
    }) as typeof api.get;
    const seen: unknown[] = [];
    const runner = await env.start({
      cache: ['Hub'],
      reconcile: async (ctx, obj) => {
        const hub = await ctx.cache.get<{ color?: string }>({ kind: 'Hub', project: 'team-a', name: 'h1' });
        seen.push(hub?.spec.color);
        ctx.setStatus({ outputs: { size: (obj.spec as { size: number }).size, color: hub?.spec.color ?? null } });
      },
    });
    const key = { kind: 'Gadget', project: 'team-a', name: 'g1' };
    const observed = (generation: number) => until(`generation ${generation} observed`, async () => ((await api.get(key))?.status.observedGeneration === generation ? true : undefined));
    await api.create({ kind: 'Hub', metadata: { name: 'h1', project: 'team-a' }, spec: { color: 'red' } });
    await api.create({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a' }, spec: { size: 1 } });
    await observed(1);
    for (const size of [2, 3]) {
      await api.patch(key, { spec: { size } });
      await observed(size);
    }
    // Three reconciles (or four, with the start-up resync), one read of the hub.
    expect(hubReads).toBe(1);
    await api.patch({ kind: 'Hub', project: 'team-a', name: 'h1' }, { spec: { color: 'blue' } });
    await env.flush();
    await until('the hub change to reach the cache', () => (runner.cacheStats().invalidations > 0 ? true : undefined));
    await api.patch(key, { spec: { size: 4 } });
    await observed(4);
    expect(seen.at(-1)).toBe('blue');
    expect(hubReads).toBe(2);
    expect(runner.cacheStats()).toMatchObject({ hits: seen.length - 2 });
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
    // A controller of one kind keeps the resync lease key it always had (rolling upgrades share it).
    expect((await env.leaseKeys()).filter((key) => key.startsWith('resync'))).toEqual(['resync']);

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

  it('lets every reconcile of its concurrency listen on the runner\'s stop signal without a leak warning (past node\'s default of 10)', async () => {
    const { api } = env;
    let stopSignal: AbortSignal | undefined;
    await env.start(
      {
        resyncEveryMs: 60_000,
        watches: [{ kind: 'Hub', on: 'spec', map: (_event, ctx) => ((stopSignal = ctx.signal), []) }],
        reconcile: async () => undefined,
      },
      { concurrency: 16 },
    );
    await api.create({ kind: 'Hub', metadata: { name: 'h-signal', project: 'team-a' }, spec: { zone: 'a' } });
    const signal = await until('the watch mapped with the runner\'s signal', async () => stopSignal);
    // Each running reconcile adds one listener to this signal and removes it when done.
    expect(getMaxListeners(signal)).toBeGreaterThanOrEqual(2 * 16);
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
    expect(() => createControllerRunner(declaration, { ...base, concurrency: 0 })).toThrow(/^concurrency: must be an integer >= 1/);
  });

  it('takes the process\'s reconciles at once from its concurrency option, over all its declarations', async () => {
    const { api } = env;
    let running = 0;
    let most = 0;
    const reconcile = async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
    };
    const gadgets = defineController({ name: 'gadget-controller', owns: 'Gadget', concurrency: 3, reconcile });
    const widgets = defineController({ name: 'gadget-controller', owns: 'Widget', concurrency: 3, reconcile });
    await env.startRunner([gadgets, widgets], { concurrency: 1 });
    const keys = ['a', 'b', 'c'].flatMap((name) => ['Gadget', 'Widget'].map((kind) => ({ kind, project: 'team-a', name })));
    for (const key of keys) await api.create({ kind: key.kind, metadata: { name: key.name, project: 'team-a' }, spec: {} });
    for (const key of keys) await until(`${key.kind}/${key.name} Ready`, async () => ((await api.get(key))?.status.phase === 'Ready' ? true : undefined));
    expect(most).toBe(1);
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

  describe('one controller identity owning several kinds', () => {
    interface LinkedSpec {
      hubRef?: { name: string };
    }
    const ref = (kind: string, name: string) => ({ kind, project: 'team-a', name });

    it('reconciles both kinds on create and by resync, maps a watched kind to either, and finalizes both on delete', async () => {
      const { api, prefix, js } = env;
      await api.create({ kind: 'Hub', metadata: { name: 'h1', project: 'team-a' }, spec: {} });
      await api.writeStatus(ref('Hub', 'h1'), { zone: 'a' });
      // Created before the runner exists: only the start-up resync of each kind brings these in.
      await api.create({ kind: 'Gadget', metadata: { name: 'g-old', project: 'team-a' }, spec: { hubRef: { name: 'h1' } } });
      await api.create({ kind: 'Widget', metadata: { name: 'w-old', project: 'team-a' }, spec: { hubRef: { name: 'h1' } } });
      await env.flush();

      const finalized: string[] = [];
      const mappedFor: string[] = [];
      const zoneOf = async (ctx: { api: ApiClient; signal: AbortSignal }, obj: { metadata: { project: string }; spec: LinkedSpec }) => {
        const hub = await ctx.api.getOrThrow({ kind: 'Hub', project: obj.metadata.project, name: obj.spec.hubRef!.name }, { signal: ctx.signal });
        return (hub.status as { zone: string }).zone;
      };
      const gadgets = defineController<LinkedSpec>({
        name: 'gadget-controller',
        owns: 'Gadget',
        concurrency: 1,
        resyncEveryMs: 60_000,
        watches: [
          {
            kind: 'Hub',
            map: (event, ctx) => {
              mappedFor.push(ctx.owns);
              return dependentsOf('hubRef')(event, ctx);
            },
          },
        ],
        reconcile: async (ctx, obj) => ctx.setStatus({ outputs: { zone: await zoneOf(ctx, obj), by: 'gadgets' } }),
        finalize: (_ctx, obj) => void finalized.push(`Gadget/${obj.metadata.name}`),
      });
      const widgets = defineController<LinkedSpec>({
        name: 'gadget-controller',
        owns: 'Widget',
        concurrency: 2,
        resyncEveryMs: 60_000,
        // The same watched kind and channel as the gadgets: one durable, each declaration maps with
        // its own `owns`. A key of a kind the controller does not own (the hub itself) is ignored.
        watches: [
          {
            kind: 'Hub',
            map: async (event, ctx) => {
              mappedFor.push(ctx.owns);
              return [...(await dependentsOf('hubRef')(event, ctx)), ref('Hub', event.name)];
            },
          },
        ],
        reconcile: async (ctx, obj) => ctx.setStatus({ outputs: { zone: await zoneOf(ctx, obj), by: 'widgets' } }),
        finalize: (_ctx, obj) => void finalized.push(`Widget/${obj.metadata.name}`),
      });
      const runner = await env.startRunner([gadgets, widgets], { healthPort: 0, healthHost: '127.0.0.1' });

      const outputsOf = async (kind: string, name: string) => (await api.get(ref(kind, name)))?.status.outputs;
      await until('g-old and w-old Ready by resync', async () => ((await api.get(ref('Gadget', 'g-old')))?.status.phase === 'Ready' && (await api.get(ref('Widget', 'w-old')))?.status.phase === 'Ready') || undefined);
      expect(await outputsOf('Gadget', 'g-old')).toEqual({ zone: 'a', by: 'gadgets' });
      expect(await outputsOf('Widget', 'w-old')).toEqual({ zone: 'a', by: 'widgets' });

      await api.create({ kind: 'Gadget', metadata: { name: 'g-new', project: 'team-a' }, spec: { hubRef: { name: 'h1' } } });
      await api.create({ kind: 'Widget', metadata: { name: 'w-new', project: 'team-a' }, spec: { hubRef: { name: 'h1' } } });
      await until('g-new and w-new Ready on create', async () => ((await outputsOf('Gadget', 'g-new'))?.zone === 'a' && (await outputsOf('Widget', 'w-new'))?.zone === 'a') || undefined);
      expect(await outputsOf('Widget', 'w-new')).toEqual({ zone: 'a', by: 'widgets' });

      // The hub's owner reports a new zone: the one watch durable wakes the objects of both kinds.
      await api.writeStatus(ref('Hub', 'h1'), { zone: 'b' });
      const all = [ref('Gadget', 'g-old'), ref('Gadget', 'g-new'), ref('Widget', 'w-old'), ref('Widget', 'w-new')];
      await until('all four follow their hub', async () => ((await Promise.all(all.map((key) => outputsOf(key.kind, key.name)))).every((outputs) => outputs?.zone === 'b') ? true : undefined));
      // Each declaration mapped the hub's change with its own kind as `owns` (dependentsOf filters by it).
      expect(new Set(mappedFor)).toEqual(new Set(['Gadget', 'Widget']));
      expect(env.reports.some((r) => r.key.kind === 'Hub')).toBe(false);

      const jsm = await jetstreamManager(nc);
      const names = streamNames(prefix);
      const filters = async (stream: string) =>
        Object.fromEntries((await jsm.consumers.list(stream).next()).map((info) => [info.config.durable_name, info.config.filter_subject]));
      expect(await filters(names.eventsStream)).toEqual({
        'gadget-controller-Gadget': `${prefix}.res.Gadget.>`,
        'gadget-controller-Widget': `${prefix}.res.Widget.>`,
        'gadget-controller-Hub-status': `${prefix}.status.Hub.>`,
      });
      expect(await filters(names.resyncStream)).toEqual({ 'gadget-controller-resync': `${prefix}.resync.gadget-controller.>` });
      expect((await env.leaseKeys()).filter((key) => key.startsWith('resync'))).toEqual(['resync.Gadget', 'resync.Widget']);

      const metricsText = async () => (await fetch(`http://127.0.0.1:${runner.healthPort}/metrics`)).text();
      await until('resync counted per kind', async () => {
        const text = await metricsText();
        return ['Gadget', 'Widget'].every((kind) => text.includes(`tugboat_controller_resync_keys_total{kind="${kind}",controller="gadget-controller",replica="r1"} 1`)) || undefined;
      });
      const widgetsDone = /tugboat_controller_reconciles_total\{outcome="done",kind="Widget",controller="gadget-controller",replica="r1"\} (\d+)/.exec(await metricsText());
      expect(Number(widgetsDone?.[1])).toBe(env.reports.filter((r) => r.key.kind === 'Widget' && r.outcome === 'done').length);

      for (const key of all) await api.delete(key);
      await until('all four gone after their finalizers', async () => ((await Promise.all(all.map((key) => api.get(key)))).every((obj) => obj === undefined) ? true : undefined));
      expect(finalized.sort()).toEqual(['Gadget/g-new', 'Gadget/g-old', 'Widget/w-new', 'Widget/w-old']);
      expect((await jsm.streams.info(names.deadLetterStream)).state.messages).toBe(0);

      // A resync key of a kind no declaration owns is still dead-lettered, naming the owned kinds.
      await js.publish(resyncSubject(prefix, 'gadget-controller', ref('Hub', 'h1')), JSON.stringify({ ...ref('Hub', 'h1'), cause: 'resync' }));
      const dead = await until('the dead letter', async () => {
        const info = await jsm.streams.info(names.deadLetterStream);
        return info.state.messages === 1 ? info : undefined;
      });
      const letter = await jsm.streams.getMessage(names.deadLetterStream, { seq: dead.state.first_seq });
      expect(letter?.header.get('Tugboat-Reason')).toBe('resync key names Hub, not Gadget or Widget');
    });

    it('refuses declarations that are not one controller, naming the field: another name, a kind owned twice, none', async () => {
      const declare = (name: string, owns: string) => defineController({ name, owns, reconcile: () => undefined });
      const gadgets = declare('gadget-controller', 'Gadget');
      const base = { api: env.api, nats: nc, logger: pino({ level: 'silent' }) };
      const refusal = (declarations: RunnableController) => {
        try {
          createControllerRunner(declarations, base);
        } catch (error) {
          return error as InputError;
        }
        throw new Error('not refused');
      };
      const otherName = refusal([gadgets, declare('widget-controller', 'Widget')]);
      expect(otherName).toBeInstanceOf(InputError);
      expect(otherName.message).toBe('declarations[1].name: is "widget-controller", but declarations[0] names "gadget-controller": one runner runs one controller identity');
      expect(otherName.details).toEqual([{ path: 'declarations[1].name', rule: 'same' }]);
      const twice = refusal([gadgets, declare('gadget-controller', 'Widget'), declare('gadget-controller', 'Gadget')]);
      expect(twice.message).toBe('declarations[2].owns: Gadget is owned by declarations[0] already');
      expect(twice.details).toEqual([{ path: 'declarations[2].owns', rule: 'unique' }]);
      expect(refusal([]).message).toBe('declarations: must hold at least one controller declaration');
      // runController refuses before it connects to anything (nothing listens on these ports).
      await expect(
        runController([gadgets, declare('widget-controller', 'Widget')], { apiUrl: 'http://127.0.0.1:9', token: 't', natsUrl: '127.0.0.1:9', handleSignals: false, logger: pino({ level: 'silent' }) }),
      ).rejects.toThrow(/^declarations\[1\]\.name: /);
    });
  });
});
