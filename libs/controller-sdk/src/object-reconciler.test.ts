import { InputError, TerminalError, type KindDefinition, type Resource } from '@tugboat/resource-model';
import { pino } from 'pino';
import { defineController, dependentsOf, type ControllerSpec, type ReconcileContext } from './define-controller.js';
import { createObjectReconciler } from './object-reconciler.js';
import { createReadCache, uncachedReads } from './read-cache.js';
import { createFakeApi, type FakeApi } from './testing/fake-api.js';
import { createInMemoryLeaseManager, type InMemoryLeaseManager } from './testing/in-memory-leases.js';
import { reconcileOnce } from './testing.js';

const gadgetKind: KindDefinition = {
  kind: 'Gadget',
  plural: 'gadgets',
  singular: 'gadget',
  shortNames: [],
  scope: 'Project',
  controller: 'gadget-controller',
  schema: {},
  references: [{ path: 'hubRef', kind: 'Hub', required: true }],
  secretFields: [],
};
const hubKind: KindDefinition = { ...gadgetKind, kind: 'Hub', plural: 'hubs', singular: 'hub', controller: 'hub-controller', references: [] };

const key = { kind: 'Gadget', project: 'team-a', name: 'g1' };

function setup(spec: Partial<ControllerSpec> = {}) {
  const api: FakeApi = createFakeApi({ kinds: [gadgetKind, hubKind], identity: { name: 'gadget-controller', type: 'controller', controller: 'gadget-controller' } });
  const leases: InMemoryLeaseManager = createInMemoryLeaseManager();
  const declaration = defineController({ name: 'gadget-controller', owns: 'Gadget', reconcile: () => undefined, ...spec });
  const reconcile = createObjectReconciler({ declaration, api, leases, logger: pino({ level: 'silent' }), replicaId: 'r1', random: () => 0.5 });
  const run = () => reconcile(key, new AbortController().signal);
  return { api, leases, run };
}

async function createGadget(api: FakeApi, spec: Record<string, unknown> = { size: 1 }): Promise<Resource> {
  await api.create({ kind: 'Hub', metadata: { name: 'h1', project: 'team-a' }, spec: {} }).catch(() => undefined);
  return api.create({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a' }, spec: { hubRef: { name: 'h1' }, ...spec } });
}

describe('createObjectReconciler', () => {
  it('writes Ready at the generation once, and nothing when the outcome repeats', async () => {
    const { api, run } = setup({ reconcile: (ctx) => ctx.setStatus({ outputs: { endpoint: 'https://g1' } }) });
    await createGadget(api);
    const first = await run();
    expect(first).toMatchObject({ outcome: 'done', disposition: { action: 'ack' }, attempt: 1, generation: 1 });
    expect(first.statusWrittenAt).toBeDefined();
    const stored = await api.getOrThrow(key);
    expect(stored.status).toMatchObject({ observedGeneration: 1, phase: 'Ready', outputs: { endpoint: 'https://g1' } });
    expect(stored.status.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'Reconciled' });

    const second = await run();
    expect(second.outcome).toBe('done');
    expect(second.statusWrittenAt).toBeUndefined();
    expect((await api.getOrThrow(key)).metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
  });

  it('starts a requeued reconcile from what its last status write left, and reads the object for a fresh change or after another write', async () => {
    const api: FakeApi = createFakeApi({ kinds: [gadgetKind, hubKind], identity: { name: 'gadget-controller', type: 'controller', controller: 'gadget-controller' } });
    const cache = createReadCache({ api, kinds: [], owned: ['Gadget'] });
    cache.setLive(true);
    const seen: unknown[] = [];
    let steady = false;
    const declaration = defineController({
      name: 'gadget-controller',
      owns: 'Gadget',
      reconcile: (ctx, obj) => {
        const round = ((obj.status.outputs?.['round'] as number | undefined) ?? 0) + (steady ? 0 : 1);
        seen.push(obj.status.outputs?.['by']);
        ctx.setStatus({ outputs: { round, by: 'controller' } });
        return { requeueAfterMs: 10 };
      },
    });
    const reconcile = createObjectReconciler({ declaration, api, cache, leases: createInMemoryLeaseManager(), logger: pino({ level: 'silent' }), replicaId: 'r1', random: () => 0.5 });
    await createGadget(api);
    let reads = 0;
    const get = api.get.bind(api);
    api.get = ((ref, options) => {
      if (ref.kind === 'Gadget') reads += 1;
      return get(ref, options);
    }) as typeof api.get;
    const run = (fresh: boolean) => reconcile(key, new AbortController().signal, { fresh });
    await run(true);
    await run(false);
    await run(false);
    expect(reads).toBe(1);
    expect((await get(key))?.status.outputs).toEqual({ round: 3, by: 'controller' });
    // A change of the object itself, delivered for the first time: read.
    await run(true);
    expect(reads).toBe(2);
    // Another writer's status change reaches the feed: read, and its status is what the reconcile sees.
    await api.writeStatus(key, { ...(await get(key))!.status, outputs: { round: 10, by: 'someone else' } });
    cache.changed(key, { resourceVersion: () => api.changes.at(-1)!.resourceVersion });
    await run(false);
    expect(reads).toBe(3);
    expect(seen.at(-1)).toBe('someone else');
    expect((await get(key))?.status.outputs).toEqual({ round: 11, by: 'controller' });
    // A stale remembered object (a change the feed has not told yet): the write is refused, nothing remembered, the next run reads.
    const before = (await get(key))!;
    await api.patch(key, { metadata: { labels: { moved: 'on' } } });
    expect((await run(false)).outcome).toBe('conflict');
    await run(false);
    expect(reads).toBe(4);
    expect((await get(key))!.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);
    // Unchanged status from a remembered object: still checked with the API, which writes nothing
    // when it is current and answers 409 when the object moved on.
    steady = true;
    const current = (await get(key))!.metadata.resourceVersion;
    expect((await run(false)).outcome).toBe('requeue');
    expect((await get(key))!.metadata.resourceVersion).toBe(current);
    await api.patch(key, { metadata: { labels: { moved: 'again' } } });
    expect((await run(false)).outcome).toBe('conflict');
  });

  it('settles the message in the tick the lease release is sent, not after its answer', async () => {
    const api: FakeApi = createFakeApi({ kinds: [gadgetKind, hubKind], identity: { name: 'gadget-controller', type: 'controller', controller: 'gadget-controller' } });
    const inner = createInMemoryLeaseManager();
    const order: string[] = [];
    let answer: () => void = () => undefined;
    const leases = {
      ...inner,
      async acquire(id: string) {
        const result = await inner.acquire(id);
        if (!result.held) return result;
        const { lease } = result;
        return {
          held: true as const,
          lease: Object.assign(Object.create(lease) as typeof lease, {
            release(data?: Record<string, unknown>) {
              order.push('release sent');
              void lease.release(data);
              return new Promise<void>((resolve) => (answer = () => (order.push('release answered'), resolve())));
            },
          }),
        };
      },
    };
    const declaration = defineController({ name: 'gadget-controller', owns: 'Gadget', reconcile: () => ({ requeueAfterMs: 30 }) });
    const reconcile = createObjectReconciler({ declaration, api, leases, logger: pino({ level: 'silent' }), replicaId: 'r1', random: () => 0.5 });
    await createGadget(api);
    const done = reconcile(key, new AbortController().signal, { settle: (disposition) => order.push(`settled ${JSON.stringify(disposition)}`) });
    while (order.length < 2) await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['release sent', 'settled {"action":"nak","delayMs":30}']);
    answer();
    expect(await done).toMatchObject({ outcome: 'requeue', disposition: { action: 'nak', delayMs: 30 } });
    expect(order).toEqual(['release sent', 'settled {"action":"nak","delayMs":30}', 'release answered']);
  });

  it('naks with the requested delay and reports Progressing', async () => {
    const { api, run } = setup({ reconcile: (ctx) => (ctx.setStatus({ message: 'waiting for hub' }), { requeueAfterMs: 5_000 }) });
    await createGadget(api);
    expect(await run()).toMatchObject({ outcome: 'requeue', disposition: { action: 'nak', delayMs: 5_000 } });
    expect((await api.getOrThrow(key)).status).toMatchObject({ phase: 'Progressing', observedGeneration: 1 });
  });

  it('backs off exponentially across failures, records a Warning, and starts over after a success', async () => {
    let failing = true;
    const attempts: number[] = [];
    const { api, leases, run } = setup({
      reconcile: (ctx) => {
        attempts.push(ctx.attempt);
        if (failing) throw new Error('cloud says no');
      },
    });
    await createGadget(api);
    const delays: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const report = await run();
      expect(report.outcome).toBe('error');
      delays.push(report.disposition.action === 'nak' ? report.disposition.delayMs : -1);
    }
    // random() = 0.5: three quarters of 200, 400, 800 ms.
    expect(delays).toEqual([150, 300, 600]);
    expect(api.eventsOf(key)).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ReconcileError', message: 'cloud says no', count: 3 })]);
    expect(leases.data('Gadget/team-a/g1')).toEqual({ failures: 3 });

    failing = false;
    expect((await run()).outcome).toBe('done');
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(leases.data('Gadget/team-a/g1')).toEqual({ failures: 0 });
  });

  it('marks a TerminalError Failed at that generation, terms, and skips until the spec changes', async () => {
    let calls = 0;
    const { api, run } = setup({
      reconcile: (_ctx, obj) => {
        calls += 1;
        if ((obj.spec as { size: number }).size > 10) throw new TerminalError('size 99 is not offered in eu-west-1');
      },
    });
    await createGadget(api, { size: 99 });
    expect(await run()).toMatchObject({ outcome: 'terminal', disposition: { action: 'term', reason: 'size 99 is not offered in eu-west-1' } });
    const failed = await api.getOrThrow(key);
    expect(failed.status).toMatchObject({ phase: 'Failed', observedGeneration: 1 });
    expect(failed.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'TerminalError', message: 'size 99 is not offered in eu-west-1' });
    expect(api.eventsOf(key)[0]).toMatchObject({ type: 'Warning', reason: 'ReconcileFailed' });

    expect((await run()).outcome).toBe('skipped');
    expect(calls).toBe(1);

    await api.patch(key, { spec: { size: 2 } });
    expect((await run()).outcome).toBe('done');
    expect((await api.getOrThrow(key)).status).toMatchObject({ phase: 'Ready', observedGeneration: 2 });
  });

  it('skips a suspended object, and runs a Failed one again when an operator forces it', async () => {
    let calls = 0;
    const { api, leases } = setup();
    const declaration = defineController({ name: 'gadget-controller', owns: 'Gadget', reconcile: () => void (calls += 1) });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const reconcile = createObjectReconciler({ declaration, api, leases, logger, replicaId: 'r1' });
    const created = await createGadget(api);
    await api.writeStatus(key, { phase: 'Failed', observedGeneration: created.metadata.generation });
    expect((await reconcile(key, new AbortController().signal)).outcome).toBe('skipped');
    expect((await reconcile(key, new AbortController().signal, { force: true })).outcome).toBe('done');
    expect((await api.getOrThrow(key)).status.phase).toBe('Ready');

    await api.suspend(key);
    expect((await reconcile(key, new AbortController().signal, { force: true })).outcome).toBe('skipped');
    const skipped = lines.map((line) => JSON.parse(line) as { msg: string; object?: string }).find((line) => line.msg === 'suspended: not reconciled until resumed');
    expect(skipped?.object).toBe('Gadget/team-a/g1');
    await api.resume(key);
    expect((await reconcile(key, new AbortController().signal)).outcome).toBe('done');
    expect(calls).toBe(2);
  });

  it('waits for a lease held elsewhere without spending an attempt', async () => {
    const { api, leases, run } = setup();
    await createGadget(api);
    leases.holdElsewhere('Gadget/team-a/g1');
    const busy = await run();
    expect(busy.outcome).toBe('lease-busy');
    expect(busy.disposition.action === 'nak' && busy.disposition.delayMs).toBeLessThanOrEqual(1_500);
    leases.free('Gadget/team-a/g1');
    expect(await run()).toMatchObject({ outcome: 'done', attempt: 1 });
  });

  it('stops a reconcile that lost its lease before it writes anything', async () => {
    let apiWrite: unknown;
    const { api, leases, run } = setup({
      reconcile: async (ctx: ReconcileContext) => {
        leases.lose('Gadget/team-a/g1');
        apiWrite = await ctx.api.recordEvent(key, { type: 'Normal', reason: 'Late', message: 'too late' }).catch((e: unknown) => e);
        expect(() => ctx.assertLeaseHeld()).toThrow(/lease on Gadget\/team-a\/g1 lost/);
        ctx.setStatus({ phase: 'Ready' });
      },
    });
    const created = await createGadget(api);
    const report = await run();
    expect(report.outcome).toBe('aborted');
    expect(report.statusWrittenAt).toBeUndefined();
    expect(String(apiWrite)).toContain('lease on Gadget/team-a/g1 lost');
    expect(api.eventsOf(key)).toEqual([]);
    expect((await api.getOrThrow(key)).metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

  it('does not mark an object Failed for a replica that lost its lease', async () => {
    const { api, leases, run } = setup({
      reconcile: () => {
        leases.lose('Gadget/team-a/g1');
        throw new TerminalError('decided too late');
      },
    });
    await createGadget(api);
    expect((await run()).outcome).toBe('aborted');
    expect((await api.getOrThrow(key)).status).toEqual({});
  });

  it('requeues instead of failing when the object changed under the status write', async () => {
    const { api, run } = setup({
      reconcile: async () => {
        await api.patch(key, { spec: { size: 5 } });
      },
    });
    await createGadget(api);
    const report = await run();
    expect(report.outcome).toBe('conflict');
    expect(report.attempt).toBe(1);
    expect(report.disposition.action).toBe('nak');
    expect((await api.getOrThrow(key)).status).toEqual({});
  });

  it('finalizes a deleted object, then removes the finalizer so the row goes', async () => {
    const finalized: string[] = [];
    let pending = true;
    const { api, run } = setup({
      finalize: (_ctx, obj) => {
        finalized.push(obj.metadata.name);
        if (pending) return { requeueAfterMs: 2_000 };
      },
    });
    await createGadget(api);
    await run();
    expect(await api.delete(key)).toMatchObject({ deleted: false });

    expect(await run()).toMatchObject({ outcome: 'requeue', disposition: { action: 'nak', delayMs: 2_000 } });
    expect((await api.getOrThrow(key)).status.phase).toBe('Deleting');
    pending = false;
    const done = await run();
    expect(done.outcome).toBe('finalized');
    expect(done.finalizerRemovedAt).toBeDefined();
    expect(await api.get(key)).toBeUndefined();
    expect(finalized).toEqual(['g1', 'g1']);
    expect((await run()).outcome).toBe('gone');
  });

  it('reconcileOnce runs one full reconcile against a fake API', async () => {
    // As against the real API, only the owning controller's identity writes the status.
    const api = createFakeApi({ kinds: [gadgetKind, hubKind], identity: { name: 'gadget-controller', type: 'controller', controller: 'gadget-controller' } });
    const obj = await createGadget(api);
    const declaration = defineController({ name: 'gadget-controller', owns: 'Gadget', reconcile: (ctx) => ctx.setStatus({ outputs: { ok: true } }) });
    const { report, object } = await reconcileOnce(declaration, obj, { api });
    expect(report.outcome).toBe('done');
    expect(object?.status.outputs).toEqual({ ok: true });
  });
});

describe('defineController', () => {
  it('names the field and rule it rejects', () => {
    const attempt = (spec: Partial<ControllerSpec>) => () =>
      defineController({ name: 'gadget-controller', owns: 'Gadget', reconcile: () => undefined, ...spec });
    expect(attempt({ name: 'Gadget_Controller' })).toThrow(InputError);
    expect(attempt({ name: 'Gadget_Controller' })).toThrow(/^name: /);
    expect(attempt({ concurrency: 0 })).toThrow(/^concurrency: /);
    expect(attempt({ watches: [{ kind: 'Gadget', map: () => [] }] })).toThrow(/^watches\[0\]\.kind: /);
    let error: unknown;
    try {
      attempt({ resyncEveryMs: 5 })();
    } catch (caught) {
      error = caught;
    }
    expect((error as InputError).details).toEqual([{ path: 'resyncEveryMs', rule: 'minimum' }]);
  });

  it('maps a watched object to its dependents through /referrers', async () => {
    const api = createFakeApi({ kinds: [gadgetKind, hubKind] });
    await createGadget(api);
    const map = dependentsOf('hubRef');
    const ctx = { api, cache: uncachedReads(api), logger: pino({ level: 'silent' }), signal: new AbortController().signal, owns: 'Gadget' };
    const hub = { kind: 'Hub', project: 'team-a', name: 'h1', uid: 'u', generation: 1, resourceVersion: '1', cause: 'spec' as const, seq: '1', at: '' };
    expect(await map(hub, ctx)).toEqual([key]);
    expect(await map({ ...hub, name: 'gone' }, ctx)).toEqual([]);
  });
});
