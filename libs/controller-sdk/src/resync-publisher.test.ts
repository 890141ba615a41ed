import type { KindDefinition } from '@tugboat/resource-model';
import { pino } from 'pino';
import { createResyncPublisher } from './resync-publisher.js';
import { createFakeApi } from './testing/fake-api.js';
import { createInMemoryLeaseManager } from './testing/in-memory-leases.js';

const gadgetKind: KindDefinition = {
  kind: 'Gadget',
  plural: 'gadgets',
  singular: 'gadget',
  shortNames: [],
  scope: 'Project',
  controller: 'gadget-controller',
  schema: {},
  references: [],
  secretFields: [],
};

async function setup(hooks: { onPublish?: () => void } = {}) {
  const api = createFakeApi({ kinds: [gadgetKind], identity: { name: 'gadget-controller', type: 'controller', controller: 'gadget-controller' } });
  for (const name of ['a', 'b', 'c']) await api.create({ kind: 'Gadget', metadata: { name, project: 'team-a' }, spec: {} });
  const failed = await api.create({ kind: 'Gadget', metadata: { name: 'failed', project: 'team-a' }, spec: {} });
  await api.writeStatus({ kind: 'Gadget', project: 'team-a', name: 'failed' }, { phase: 'Failed', observedGeneration: failed.metadata.generation });
  const published: Array<{ subject: string; body: Record<string, unknown>; msgID: string; at: number }> = [];
  let clock = 1_000_000;
  const leases = createInMemoryLeaseManager();
  const publisher = createResyncPublisher({
    controller: 'gadget-controller',
    owns: 'Gadget',
    api,
    js: {
      publish: async (subject: string, payload?: unknown, options?: { msgID?: string }) => {
        published.push({ subject, body: JSON.parse(String(payload)) as Record<string, unknown>, msgID: options?.msgID ?? '', at: Date.now() });
        hooks.onPublish?.();
        return { stream: 'S', seq: published.length, duplicate: false, domain: '' };
      },
    } as never,
    leases,
    prefix: 'p',
    logger: pino({ level: 'silent' }),
    resyncEveryMs: 60_000,
    spreadMs: 120,
    now: () => clock,
  });
  return { api, published, leases, publisher, advance: (ms: number) => (clock += ms) };
}

describe('createResyncPublisher', () => {
  it('publishes every owned key once per period, spread out, with Msg-Ids that make repeats harmless, skipping Failed objects', async () => {
    const { published, publisher, advance } = await setup();
    const signal = new AbortController().signal;

    expect(await publisher.runOnce(signal)).toBe('published');
    expect(published.map((p) => p.subject)).toEqual(['p.resync.gadget-controller.Gadget.team-a.a', 'p.resync.gadget-controller.Gadget.team-a.b', 'p.resync.gadget-controller.Gadget.team-a.c']);
    expect(published[0]!.body).toMatchObject({ kind: 'Gadget', project: 'team-a', name: 'a', cause: 'resync' });
    const period = Math.floor(1_000_000 / 60_000);
    expect(published[0]!.msgID).toBe(`gadget-controller:${published[0]!.body.uid as string}:${period}`);
    // Spread over 120 ms: 40 ms between keys.
    expect(published[2]!.at - published[0]!.at).toBeGreaterThanOrEqual(70);

    expect(await publisher.runOnce(signal)).toBe('not-due');
    advance(59_000);
    expect(await publisher.runOnce(signal)).toBe('not-due');
    advance(1_000);
    expect(await publisher.runOnce(signal)).toBe('published');
    expect(published).toHaveLength(6);
    expect(published[3]!.msgID).toBe(`gadget-controller:${published[0]!.body.uid as string}:${period + 1}`);
  });

  it('leaves the round to the replica holding the resync lease', async () => {
    const { published, publisher, leases } = await setup();
    leases.holdElsewhere('resync');
    expect(await publisher.runOnce(new AbortController().signal)).toBe('busy');
    expect(published).toEqual([]);
  });

  it('does not record a round it could not finish, so the next holder does it again', async () => {
    const controller = new AbortController();
    // Stopped right after the first key went out, mid-round (no timer racing the spread).
    const { published, publisher, leases } = await setup({ onPublish: () => controller.abort(new Error('stopping')) });
    const round = publisher.runOnce(controller.signal);
    await expect(round).rejects.toThrow('stopping');
    expect(published).toHaveLength(1);
    expect(leases.data('resync')).toEqual({});
    expect(await publisher.runOnce(new AbortController().signal)).toBe('published');
  });
});
