import { ConflictError, ForbiddenError, NotFoundError, type KindDefinition } from '@tugboat/resource-model';
import { createFakeApi } from './fake-api.js';

const gadgetKind: KindDefinition = {
  kind: 'Gadget',
  plural: 'gadgets',
  singular: 'gadget',
  shortNames: ['gd'],
  scope: 'Project',
  controller: 'gadget-controller',
  schema: {},
  references: [],
  secretFields: ['password'],
};
const key = { kind: 'Gadget', project: 'team-a', name: 'g1' };

describe('createFakeApi', () => {
  it('keeps the contract: generation on spec changes only, 409 on a stale version, no-op status writes, owner-only status', async () => {
    const changes: string[] = [];
    const api = createFakeApi({ kinds: [gadgetKind], identity: { name: 'gadget-controller', type: 'controller', controller: 'gadget-controller' }, onChange: (e) => changes.push(e.cause) });
    const created = await api.create({ kind: 'gd', metadata: { name: 'g1', project: 'team-a' }, spec: { size: 1, password: 'pw' } });
    expect(created.metadata).toMatchObject({ generation: 1, finalizers: ['gadget-controller'], deletionRequestedAt: null });
    await expect(api.create({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a' }, spec: {} })).rejects.toBeInstanceOf(ConflictError);

    const labelled = await api.patch(key, { metadata: { labels: { tier: 'prod' } } });
    expect(labelled.metadata.generation).toBe(1);
    await expect(api.patch(key, { spec: { size: 2 } }, { resourceVersion: created.metadata.resourceVersion })).rejects.toBeInstanceOf(ConflictError);
    expect((await api.patch(key, { spec: { size: 2 } })).metadata.generation).toBe(2);

    const written = await api.writeStatus(key, { phase: 'Ready', observedGeneration: 2 });
    expect((await api.writeStatus(key, { phase: 'Ready', observedGeneration: 2 })).metadata.resourceVersion).toBe(written.metadata.resourceVersion);
    expect(await api.readSecrets(key)).toEqual({ password: 'pw' });
    expect(changes).toEqual(['spec', 'spec', 'spec', 'status']);

    const user = createFakeApi({ kinds: [gadgetKind], identity: { name: 'other-controller', type: 'controller', controller: 'other-controller' } });
    await user.create({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a' }, spec: {} });
    await expect(user.writeStatus(key, { phase: 'Ready' })).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('keeps revisions with diffs, suspends and resumes, and asks for reconciles', async () => {
    const api = createFakeApi({ kinds: [gadgetKind] });
    await api.create({ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a' }, spec: { size: 1 } });
    await api.patch(key, { spec: { size: 3, color: 'red' } });
    const revisions = await api.revisions(key);
    expect(revisions.map((r) => [r.revision, r.generation, r.cause])).toEqual([[2, 2, 'spec'], [1, 1, 'spec']]);
    expect((await api.revisionDiff(key, { from: 1 })).diff).toEqual([
      { path: 'spec.color', op: 'add', to: 'red' },
      { path: 'spec.size', op: 'replace', from: 1, to: 3 },
    ]);
    expect(await api.revision(key, 9)).toBeUndefined();
    await expect(api.revisionDiff(key, { from: 9 })).rejects.toBeInstanceOf(NotFoundError);

    expect((await api.suspend(key)).metadata.suspended).toBe(true);
    expect((await api.resume(key)).metadata.suspended).toBe(false);
    await api.requestReconcile(key);
    expect(api.changes.map((c) => c.cause).slice(-3)).toEqual(['metadata', 'metadata', 'reconcile']);
  });

  it('applies arrays (created, updated with a diff, unchanged) and streams changes to a watch', async () => {
    const api = createFakeApi({ kinds: [gadgetKind] });
    const controller = new AbortController();
    const watch = await api.watch({ kinds: ['Gadget'], project: 'team-a', signal: controller.signal });
    const seen: string[] = [];
    const following = (async () => {
      for await (const event of watch) {
        seen.push(`${event.type}:${event.cause}:${event.key.name}`);
        if (seen.length === 3) controller.abort();
      }
    })();

    const bundle = [{ kind: 'Gadget', metadata: { name: 'g1', project: 'team-a' }, spec: { size: 1 } }];
    expect((await api.apply(bundle)).results[0]).toMatchObject({ action: 'created', generation: 1 });
    expect((await api.apply(bundle)).results[0]).toMatchObject({ action: 'unchanged' });
    const updated = await api.apply([{ ...bundle[0]!, spec: { size: 2 } }]);
    expect(updated.results[0]).toMatchObject({ action: 'updated', generation: 2, diff: [{ path: 'spec.size', op: 'replace', from: 1, to: 2 }] });
    await api.delete(key);
    await following;
    expect(seen).toEqual(['ADDED:spec:g1', 'MODIFIED:spec:g1', 'MODIFIED:metadata:g1']);
  });
});
