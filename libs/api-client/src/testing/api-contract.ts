/**
 * One behavioural contract of the v1 API, run against the real API (services/api) and against the
 * in-memory fake (`createFakeApi`), so the fake the SDK's and `tug`'s unit tests stand on behaves
 * as the API does. Both are driven through the real `createApiClient`. Call it at the top level of
 * a test file; it declares a `describe` block with jest's globals.
 */
import {
  WORKLOAD_DEFINITION as BUILTIN_WORKLOAD_DEFINITION,
  ConflictError,
  ForbiddenError,
  InputError,
  NotFoundError,
  type KindRegistration,
  type Resource,
  type TugboatError,
} from '@tugboat/resource-model';
import { createApiClient, type ApiClient, type WatchEvent } from '../api-client.js';

/** A running API: where it answers and the admin's token. */
export interface ApiContractTarget {
  baseUrl: string;
  adminToken: string;
  /** For an API served in memory (the fake); the global `fetch` otherwise. */
  fetch?: typeof fetch;
  close(): Promise<void>;
}

export interface ApiContractSetup {
  /** Starts a fresh API (no objects, the built-in kinds) for one `describe` block. */
  start(): Promise<ApiContractTarget>;
}

const HUB_CONTROLLER = 'contract-hub-controller';
const GADGET_CONTROLLER = 'contract-gadget-controller';

const hubKind: KindRegistration = {
  kind: 'ContractHub',
  plural: 'contracthubs',
  singular: 'contracthub',
  shortNames: [],
  scope: 'Project',
  controller: HUB_CONTROLLER,
  schema: { type: 'object', properties: { zone: { type: 'string' } } },
  references: [],
  secretFields: [],
};

const gadgetKind: KindRegistration = {
  kind: 'ContractGadget',
  plural: 'contractgadgets',
  singular: 'contractgadget',
  shortNames: ['cgd'],
  scope: 'Project',
  controller: GADGET_CONTROLLER,
  schema: {
    type: 'object',
    properties: {
      size: { type: 'integer', minimum: 0 },
      color: { type: 'string' },
      password: { type: 'string' },
      hubRef: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    },
  },
  references: [{ path: 'hubRef', kind: 'ContractHub', required: true }],
  secretFields: ['password'],
};

/** Resolves to the error a call rejected with (fails the test when it resolved). */
async function rejection(promise: Promise<unknown>): Promise<TugboatError> {
  try {
    await promise;
  } catch (error) {
    return error as TugboatError;
  }
  throw new Error('expected the call to be refused');
}

/** Waits for a condition the API reaches asynchronously (the real API's watch goes through NATS). */
async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition of the contract');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function describeApiContract(name: string, setup: ApiContractSetup): void {
  describe(`API contract: ${name}`, () => {
    let target: ApiContractTarget;
    let admin: ApiClient;
    /** The controller that owns ContractGadget: it alone writes their status and removes their finalizer. */
    let controller: ApiClient;
    let other: ApiClient;
    let project: string;
    let counter = 0;
    /** A fresh project per test: tests share one API and never see each other's objects. */
    const nextProject = () => `contract-${++counter}`;
    const gadget = (name: string, spec: Record<string, unknown> = { size: 1 }, labels: Record<string, string> = {}) => ({
      kind: 'ContractGadget',
      metadata: { name, project, labels },
      spec,
    });
    const ref = (name: string) => ({ kind: 'ContractGadget', project, name });

    beforeAll(async () => {
      target = await setup.start();
      const clientWith = (token: string) => createApiClient({ baseUrl: target.baseUrl, token, ...(target.fetch ? { fetch: target.fetch } : {}) });
      admin = clientWith(target.adminToken);
      await admin.registerKind(hubKind);
      await admin.registerKind(gadgetKind);
      controller = clientWith((await admin.createToken({ name: GADGET_CONTROLLER, type: 'controller', controller: GADGET_CONTROLLER })).token);
      // `controller` alone makes a controller identity.
      other = clientWith((await admin.createToken({ name: 'contract-other', controller: 'contract-other' })).token);
    });

    afterAll(async () => {
      await target?.close();
    });

    beforeEach(async () => {
      project = nextProject();
      // Objects live in a project that exists (a platform admin creates it).
      await admin.create({ kind: 'Project', metadata: { name: project }, spec: {} });
    });

    it('creates an object with its uid, generation 1, a resourceVersion, its controller as finalizer and an empty status', async () => {
      const created = await admin.create(gadget('g1', { size: 1, color: 'red' }, { tier: 'prod' }));
      expect(created).toMatchObject({
        kind: 'ContractGadget',
        metadata: { name: 'g1', project, labels: { tier: 'prod' }, generation: 1, finalizers: [GADGET_CONTROLLER], deletionRequestedAt: null },
        spec: { size: 1, color: 'red' },
        status: {},
      });
      expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(await admin.get(ref('g1'))).toEqual(created);
      // Any name of the kind reaches it, in a read as in a write.
      expect((await admin.get({ kind: 'cgd', project, name: 'g1' }))?.metadata.uid).toBe(created.metadata.uid);
      expect((await admin.create({ ...gadget('g2'), kind: 'cgd' })).kind).toBe('ContractGadget');
      expect((await admin.replace({ ...gadget('g2', { size: 2 }), kind: 'contractgadgets' })).metadata.generation).toBe(2);
    });

    it('knows who calls, and refuses a token name already taken', async () => {
      expect(await admin.whoami()).toMatchObject({ name: 'admin', type: 'user' });
      expect(await other.whoami()).toMatchObject({ name: 'contract-other', type: 'controller', controller: 'contract-other' });
      expect(await rejection(admin.createToken({ name: 'contract-other', controller: 'contract-other' }))).toMatchObject({ status: 409, details: [{ path: 'name', rule: 'unique' }] });
      expect(await rejection(other.createToken({ name: 'contract-third', type: 'user' }))).toBeInstanceOf(ForbiddenError);
    });

    it('lists tokens without their secret, revokes one (401 saying so, still listed, idempotent), all for the admin only', async () => {
      const created = await admin.createToken({ name: 'contract-revoked', type: 'user', expiresIn: '30d' });
      expect(created.expiresAt).toEqual(expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/));
      const doomed = createApiClient({ baseUrl: target.baseUrl, token: created.token, ...(target.fetch ? { fetch: target.fetch } : {}) });
      expect(await doomed.whoami()).toMatchObject({ name: 'contract-revoked', type: 'user' });
      // The use is recorded without holding up the request: it shows up shortly after.
      let listed = await admin.listTokens();
      for (const deadline = Date.now() + 10_000; listed.find((token) => token.name === 'contract-revoked')?.lastUsedAt === null && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        listed = await admin.listTokens();
      }
      expect(JSON.stringify(listed)).not.toContain(created.token);
      expect(listed.find((token) => token.name === 'contract-revoked')).toEqual({
        name: 'contract-revoked',
        type: 'user',
        controller: null,
        user: 'contract-revoked',
        project: null,
        role: null,
        createdAt: expect.any(String),
        expiresAt: created.expiresAt,
        lastUsedAt: expect.any(String),
        revokedAt: null,
      });
      expect(listed.find((token) => token.name === 'contract-other')).toMatchObject({ type: 'controller', controller: 'contract-other', expiresAt: null });

      const revoked = await admin.revokeToken('contract-revoked');
      expect(revoked.revokedAt).toEqual(expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/));
      expect(await rejection(doomed.whoami())).toMatchObject({ status: 401, details: [{ path: 'authorization', rule: 'revoked' }] });
      expect((await admin.revokeToken('contract-revoked')).revokedAt).toBe(revoked.revokedAt);
      expect((await admin.listTokens()).find((token) => token.name === 'contract-revoked')?.revokedAt).toBe(revoked.revokedAt);
      expect(await rejection(admin.revokeToken('contract-never'))).toBeInstanceOf(NotFoundError);
      expect(await rejection(other.listTokens())).toBeInstanceOf(ForbiddenError);
      expect(await rejection(other.revokeToken('contract-other'))).toBeInstanceOf(ForbiddenError);
      expect(await rejection(admin.createToken({ name: 'contract-late', type: 'user', expiresIn: '400d' }))).toMatchObject({ status: 422, details: [{ path: 'expiresIn', rule: 'maximum' }] });
    });

    it('answers absence as undefined from get, NotFoundError from getOrThrow and for unknown kinds', async () => {
      expect(await admin.get(ref('missing'))).toBeUndefined();
      const missing = await rejection(admin.getOrThrow(ref('missing')));
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(missing.status).toBe(404);
      expect(await rejection(admin.list('NoSuchKind'))).toBeInstanceOf(NotFoundError);
    });

    it('refuses a taken name with 409, and bad input with 422 naming the field and the rule', async () => {
      await admin.create(gadget('g1'));
      const taken = await rejection(admin.create(gadget('g1')));
      expect(taken).toBeInstanceOf(ConflictError);
      expect(taken.details).toEqual([{ path: 'metadata.name', rule: 'unique' }]);

      const badName = await rejection(admin.create(gadget('Not_A_Label')));
      expect(badName).toBeInstanceOf(InputError);
      expect(badName.status).toBe(422);
      expect(badName.details).toEqual([{ path: 'metadata.name', rule: 'dns-label' }]);

      const badSpec = await rejection(admin.create(gadget('g2', { size: -1, extra: true })));
      expect(badSpec.status).toBe(422);
      expect(badSpec.details).toEqual(expect.arrayContaining([{ path: 'spec.size', rule: 'minimum' }, { path: 'spec.extra', rule: 'additionalProperties' }]));

      const badReference = await rejection(admin.create(gadget('g3', { hubRef: { name: 'nowhere' } })));
      expect(badReference.status).toBe(422);
      expect(badReference.details).toEqual([{ path: 'spec.hubRef.name', rule: 'reference' }]);
      expect(await admin.get(ref('g2'))).toBeUndefined();
      expect(await admin.get(ref('g3'))).toBeUndefined();
    });

    it('lists by project in name order, with label selectors and pages', async () => {
      await admin.create(gadget('c', { size: 1 }, { tier: 'prod', canary: 'true' }));
      await admin.create(gadget('a', { size: 1 }, { tier: 'prod' }));
      await admin.create(gadget('b', { size: 1 }, { tier: 'dev' }));
      const names = async (labelSelector?: string | Record<string, string>) =>
        (await admin.list('ContractGadget', { project, ...(labelSelector === undefined ? {} : { labelSelector }) })).items.map((item) => item.metadata.name);
      expect(await names()).toEqual(['a', 'b', 'c']);
      expect(await names('tier=prod')).toEqual(['a', 'c']);
      expect(await names({ tier: 'prod' })).toEqual(['a', 'c']);
      expect(await names('tier!=prod')).toEqual(['b']);
      expect(await names('canary')).toEqual(['c']);
      expect(await names('!canary')).toEqual(['a', 'b']);
      expect(await names('tier=prod,!canary')).toEqual(['a']);
      expect(await rejection(names('tier=prod=x'))).toMatchObject({ status: 400, details: [{ path: 'labelSelector', rule: 'label-value' }] });

      const first = await admin.list('ContractGadget', { project, limit: 2 });
      expect(first.items.map((item) => item.metadata.name)).toEqual(['a', 'b']);
      expect(first.continue).toEqual(expect.any(String));
      const second = await admin.list('ContractGadget', { project, limit: 2, continue: first.continue! });
      expect(second.items.map((item) => item.metadata.name)).toEqual(['c']);
      expect(second.continue).toBeUndefined();
      const all: string[] = [];
      for await (const item of admin.listAll('ContractGadget', { project, limit: 1 })) all.push(item.metadata.name);
      expect(all).toEqual(['a', 'b', 'c']);
      expect((await admin.list('ContractGadget', { project: nextProject() })).items).toEqual([]);
      // A project where none belongs, or none where one must: 422 naming `project`.
      expect(await rejection(admin.list('ClusterInstance', { project }))).toMatchObject({ status: 422, details: [{ path: 'project', rule: 'platform-scope' }] });
      expect(await rejection(admin.getOrThrow({ kind: 'ContractGadget', name: 'a' }))).toMatchObject({ status: 422, details: [{ path: 'project', rule: 'required' }] });
    });

    it('bumps the generation on spec changes only, refuses a stale resourceVersion with 409, and writes nothing for a change that changes nothing', async () => {
      const created = await admin.create(gadget('g1', { size: 1 }));
      const relabelled = await admin.replace(gadget('g1', { size: 1 }, { tier: 'prod' }), { resourceVersion: created.metadata.resourceVersion });
      expect(relabelled.metadata.generation).toBe(1);
      expect(Number(relabelled.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));

      const stale = await rejection(admin.replace(gadget('g1', { size: 2 }), { resourceVersion: created.metadata.resourceVersion }));
      expect(stale).toBeInstanceOf(ConflictError);
      expect(stale.details).toEqual([{ path: 'metadata.resourceVersion', rule: 'stale' }]);
      expect((await admin.getOrThrow(ref('g1'))).spec).toEqual({ size: 1 });

      const resized = await admin.replace(gadget('g1', { size: 2 }, { tier: 'prod' }), { resourceVersion: relabelled.metadata.resourceVersion });
      expect(resized.metadata.generation).toBe(2);
      const same = await admin.replace(gadget('g1', { size: 2 }, { tier: 'prod' }));
      expect(same.metadata).toMatchObject({ generation: 2, resourceVersion: resized.metadata.resourceVersion });

      const patched = await admin.patch(ref('g1'), { spec: { color: 'blue' }, metadata: { labels: { tier: null } } });
      expect(patched.spec).toEqual({ size: 2, color: 'blue' });
      expect(patched.metadata.labels).toEqual({});
      expect(patched.metadata.generation).toBe(3);
      expect(await rejection(admin.patch(ref('g1'), { spec: { size: 5 } }, { resourceVersion: resized.metadata.resourceVersion }))).toBeInstanceOf(ConflictError);
    });

    it('keeps secrets out of every answer and hands them to controllers only', async () => {
      const valuesOnCurrentKey = async () => {
        const status = await admin.secretKeyStatus();
        expect(status.keys[0]).toMatchObject({ id: status.current, current: true });
        return status.keys[0]!.values;
      };
      const before = await valuesOnCurrentKey();
      const created = await admin.create(gadget('g1', { size: 1, password: 'pw-contract-1' }));
      // Each stored secret value counts on the key that sealed it (the admin's view, GET /v1/admin/keys).
      expect(await valuesOnCurrentKey()).toBe(before + 1);
      expect(await rejection(controller.secretKeyStatus())).toBeInstanceOf(ForbiddenError);
      expect(created.spec['password']).toBe('<redacted>');
      expect((await admin.getOrThrow(ref('g1'))).spec['password']).toBe('<redacted>');
      expect(await controller.readSecrets(ref('g1'))).toEqual({ password: 'pw-contract-1' });
      expect(await rejection(admin.readSecrets(ref('g1')))).toBeInstanceOf(ForbiddenError);
      // `<redacted>` sent back keeps the stored value and changes nothing.
      const kept = await admin.replace(gadget('g1', { size: 1, password: '<redacted>' }));
      expect(kept.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      expect((await admin.replace(gadget('g1', { size: 1, password: 'pw-contract-2' }))).metadata.generation).toBe(2);
      expect(await controller.readSecrets(ref('g1'))).toEqual({ password: 'pw-contract-2' });
    });

    it('lets only the owning controller write status; a status write bumps no generation and a repeat writes nothing', async () => {
      const created = await admin.create(gadget('g1'));
      expect(await rejection(admin.writeStatus(ref('g1'), { phase: 'Ready' }))).toBeInstanceOf(ForbiddenError);
      // A controller that may not even read the kind is answered as if the object did not exist.
      expect(await rejection(other.writeStatus(ref('g1'), { phase: 'Ready' }))).toMatchObject({ status: 404 });

      const status = { phase: 'Ready' as const, observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' as const }] };
      const written = await controller.writeStatus(ref('g1'), status, { resourceVersion: created.metadata.resourceVersion });
      expect(written.status).toEqual(status);
      expect(written.spec).toEqual(created.spec);
      expect(written.metadata.generation).toBe(1);
      expect(Number(written.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));

      const repeated = await controller.writeStatus(ref('g1'), status);
      expect(repeated).toEqual(written);
      expect(await admin.getOrThrow(ref('g1'))).toEqual(written);

      const stale = await rejection(controller.writeStatus(ref('g1'), { phase: 'Degraded' }, { resourceVersion: created.metadata.resourceVersion }));
      expect(stale).toBeInstanceOf(ConflictError);
      expect((await admin.getOrThrow(ref('g1'))).status).toEqual(status);
    });

    it('marks a delete while finalizers remain; the owning controller removing the last one removes the object', async () => {
      await admin.create(gadget('g1'));
      const marked = await admin.delete(ref('g1'));
      expect(marked.deleted).toBe(false);
      const object = (marked as { object: Resource }).object;
      expect(object.metadata.deletionRequestedAt).toEqual(expect.any(String));
      expect(object.metadata.finalizers).toEqual([GADGET_CONTROLLER]);
      // A second delete changes nothing.
      const again = await admin.delete(ref('g1'));
      expect((again as { object: Resource }).object.metadata.resourceVersion).toBe(object.metadata.resourceVersion);

      expect(await rejection(admin.removeFinalizer(ref('g1'), GADGET_CONTROLLER))).toBeInstanceOf(ForbiddenError);
      expect(await rejection(other.removeFinalizer(ref('g1'), GADGET_CONTROLLER))).toMatchObject({ status: 404 });
      expect(await controller.removeFinalizer(ref('g1'), GADGET_CONTROLLER)).toEqual({ deleted: true });
      expect(await admin.get(ref('g1'))).toBeUndefined();
      expect(await rejection(admin.delete(ref('g1')))).toBeInstanceOf(NotFoundError);
    });

    it('removes a finalizer by force for the admin only, records it as a warning, and then deletes at once', async () => {
      await admin.create(gadget('g1'));
      expect(await rejection(controller.removeFinalizer(ref('g1'), GADGET_CONTROLLER, { force: true }))).toBeInstanceOf(ForbiddenError);
      const forced = await admin.removeFinalizer(ref('g1'), GADGET_CONTROLLER, { force: true });
      expect(forced).toMatchObject({ deleted: false, object: { metadata: { finalizers: [] } } });
      expect(await admin.listEvents(ref('g1'))).toEqual([expect.objectContaining({ type: 'Warning', reason: 'FinalizerForceRemoved', source: 'admin', count: 1 })]);
      expect((await admin.revisions(ref('g1')))[0]).toMatchObject({ cause: 'metadata', note: `finalizer ${GADGET_CONTROLLER} force-removed` });
      expect(await admin.delete(ref('g1'))).toEqual({ deleted: true });
      expect(await admin.get(ref('g1'))).toBeUndefined();
    });

    it('refuses to delete a referenced object (409, naming the referrer) unless cascading', async () => {
      await admin.create({ kind: 'ContractHub', metadata: { name: 'hub', project }, spec: {} });
      const user = await admin.create(gadget('user', { size: 1, hubRef: { name: 'hub' } }));
      const hubRef = { kind: 'ContractHub', project, name: 'hub' };
      expect(await admin.referrers(hubRef)).toEqual([{ kind: 'ContractGadget', project, name: 'user', uid: user.metadata.uid, path: 'spec.hubRef' }]);
      const used = await rejection(admin.delete(hubRef));
      expect(used).toBeInstanceOf(ConflictError);
      expect(used.details).toEqual([{ path: `ContractGadget/${project}/user`, rule: 'in-use' }]);

      const cascaded = await admin.delete(hubRef, { cascade: true });
      expect(cascaded.deleted).toBe(false);
      expect((await admin.getOrThrow(ref('user'))).metadata.deletionRequestedAt).toEqual(expect.any(String));
      // The hub waits for its referrer, which waits for its controller.
      expect(await controller.removeFinalizer(ref('user'), GADGET_CONTROLLER)).toEqual({ deleted: true });
      expect((await admin.getOrThrow(hubRef)).metadata.deletionRequestedAt).toEqual(expect.any(String));
    });

    it('records events with counts and the identity as source, and refuses a malformed one with 422', async () => {
      await admin.create(gadget('g1'));
      const first = await controller.recordEvent(ref('g1'), { type: 'Warning', reason: 'BackOff', message: 'retrying' });
      expect(first).toMatchObject({ type: 'Warning', reason: 'BackOff', message: 'retrying', count: 1, source: GADGET_CONTROLLER });
      const second = await controller.recordEvent(ref('g1'), { type: 'Warning', reason: 'BackOff', message: 'retrying' });
      expect(second).toMatchObject({ count: 2, firstSeen: first.firstSeen });
      await controller.recordEvent(ref('g1'), { type: 'Normal', reason: 'Ready', message: 'up' });
      const events = await admin.listEvents(ref('g1'));
      expect(events.map((event) => [event.reason, event.count])).toEqual([
        ['Ready', 1],
        ['BackOff', 2],
      ]);
      const bad = await rejection(controller.recordEvent(ref('g1'), { type: 'Loud' as 'Normal', reason: 'not a word', message: 'x' }));
      expect(bad).toBeInstanceOf(InputError);
      expect(bad.status).toBe(422);
      expect(bad.details).toEqual(expect.arrayContaining([{ path: 'type', rule: 'enum' }, { path: 'reason', rule: 'pattern' }]));
      expect(await rejection(controller.recordEvent(ref('missing'), { type: 'Normal', reason: 'Ready', message: 'x' }))).toBeInstanceOf(NotFoundError);
    });

    it('keeps revisions numbered by resourceVersion with field diffs, and runs the operator controls', async () => {
      const created = await admin.create(gadget('g1', { size: 1 }));
      const updated = await admin.patch(ref('g1'), { spec: { size: 3 } });
      // A status write is no revision: revisions record desired-state changes only.
      await controller.writeStatus(ref('g1'), { phase: 'Ready', observedGeneration: 2 });
      const revisions = await admin.revisions(ref('g1'));
      expect(revisions.slice(0, 2).map((r) => [r.revision, r.generation, r.cause])).toEqual([
        [Number(updated.metadata.resourceVersion), 2, 'spec'],
        [Number(created.metadata.resourceVersion), 1, 'spec'],
      ]);
      const diff = await admin.revisionDiff(ref('g1'), { from: Number(created.metadata.resourceVersion) });
      expect(diff.diff).toEqual([{ path: 'spec.size', op: 'replace', from: 1, to: 3 }]);
      expect(await admin.revision(ref('g1'), 999_999_999)).toBeUndefined();

      const suspended = await admin.suspend(ref('g1'));
      expect(suspended.metadata.suspended).toBe(true);
      expect(await rejection(admin.requestReconcile(ref('g1')))).toBeInstanceOf(ConflictError);
      const resumed = await admin.resume(ref('g1'));
      expect(resumed.metadata.suspended).toBeUndefined();
      const reconciled = await admin.requestReconcile(ref('g1'));
      expect(reconciled.metadata.generation).toBe(2);
      expect(Number(reconciled.metadata.resourceVersion)).toBeGreaterThan(Number(resumed.metadata.resourceVersion));
      expect((await admin.listEvents(ref('g1'))).map((event) => event.reason).sort()).toEqual(['ReconcileRequested', 'Resumed', 'Suspended']);
    });

    it('applies a bundle in one transaction: created, unchanged, updated with a diff; a dry run or a blocked object writes nothing', async () => {
      const hub = { kind: 'contracthubs', metadata: { name: 'hub', project }, spec: {} };
      const first = [gadget('g1', { size: 1, hubRef: { name: 'hub' } }), hub];
      const planned = await admin.apply(first, { dryRun: true });
      expect(planned.dryRun).toBe(true);
      expect(planned.results.map((r) => [r.kind, r.name, r.action])).toEqual([
        ['ContractHub', 'hub', 'created'],
        ['ContractGadget', 'g1', 'created'],
      ]);
      expect(await admin.get(ref('g1'))).toBeUndefined();
      // The hub comes first: the gadget refers to it.
      expect((await admin.apply(first)).results.map((r) => [r.name, r.action, r.generation])).toEqual([
        ['hub', 'created', 1],
        ['g1', 'created', 1],
      ]);
      const second = await admin.apply([gadget('g1', { size: 2, hubRef: { name: 'hub' } }, { tier: 'prod' }), hub]);
      expect(second.results).toEqual([
        { kind: 'ContractHub', project, name: 'hub', action: 'unchanged', generation: 1 },
        { kind: 'ContractGadget', project, name: 'g1', action: 'updated', generation: 2, diff: [{ path: 'metadata.labels.tier', op: 'add', to: 'prod' }, { path: 'spec.size', op: 'replace', from: 1, to: 2 }] },
      ]);

      const bad = [gadget('g2', { size: 1 }), gadget('g3', { size: -1 }), gadget('g4', { hubRef: { name: 'nowhere' } })];
      const dry = await admin.apply(bad, { dryRun: true });
      expect(dry.results.map((r) => [r.name, r.action, r.reasons?.map((reason) => [reason.path, reason.rule])])).toEqual([
        ['g2', 'created', undefined],
        ['g3', 'blocked', [['spec.size', 'minimum']]],
        ['g4', 'blocked', [['spec.hubRef.name', 'reference']]],
      ]);
      const refused = await rejection(admin.apply(bad));
      expect(refused).toBeInstanceOf(InputError);
      expect(refused.status).toBe(422);
      expect(refused.details).toEqual([
        { path: `ContractGadget/${project}/g3: spec.size`, rule: 'minimum' },
        { path: `ContractGadget/${project}/g4: spec.hubRef.name`, rule: 'reference' },
      ]);
      expect(await admin.get(ref('g2'))).toBeUndefined();
    });

    it('changes a kind compatibly, refuses a schema its objects would fail, and deletes a kind only once it has no objects', async () => {
      const widget: KindRegistration = { ...gadgetKind, kind: 'ContractWidget', plural: 'contractwidgets', singular: 'contractwidget', shortNames: [], references: [], secretFields: [] };
      expect(await admin.applyKind(widget)).toMatchObject({ action: 'created', definition: { kind: 'ContractWidget' } });
      expect((await admin.applyKind(widget)).action).toBe('unchanged');
      await admin.create({ kind: 'ContractWidget', metadata: { name: 'w1', project }, spec: { size: 5 } });
      const wider = { ...widget, schema: { type: 'object', properties: { ...(widget.schema['properties'] as object), label: { type: 'string' } } } };
      expect((await admin.applyKind(wider)).action).toBe('updated');
      const narrower = { ...wider, schema: { type: 'object', properties: { size: { type: 'integer', maximum: 3 } } } };
      const refused = await rejection(admin.applyKind(narrower));
      expect(refused).toBeInstanceOf(ConflictError);
      expect(await rejection(admin.applyKind({ ...wider, scope: 'Platform' }))).toMatchObject({ status: 422, details: [{ path: 'scope', rule: 'immutable' }] });
      const { builtIn: _, ...builtIn } = BUILTIN_WORKLOAD_DEFINITION;
      expect(await rejection(admin.applyKind(builtIn))).toBeInstanceOf(ForbiddenError);
      expect(await rejection(controller.applyKind(wider))).toBeInstanceOf(ForbiddenError);

      const inUse = await rejection(admin.deleteKind('ContractWidget'));
      expect(inUse).toBeInstanceOf(ConflictError);
      expect(inUse.details[0]).toEqual({ path: 'kind', rule: 'has-objects' });
      await admin.delete({ kind: 'ContractWidget', project, name: 'w1' });
      await admin.removeFinalizer({ kind: 'ContractWidget', project, name: 'w1' }, GADGET_CONTROLLER, { force: true });
      expect((await admin.deleteKind('contractwidgets')).kind).toBe('ContractWidget');
      expect(await admin.getKind('ContractWidget')).toBeUndefined();
      expect(await rejection(admin.deleteKind('ContractHub'))).toMatchObject({ status: 409, details: [{ path: 'ContractGadget', rule: 'references' }] });
    });

    it('streams changes to a watch: ADDED with the object, MODIFIED, DELETED without it', async () => {
      const stop = new AbortController();
      const watch = await admin.watch({ kinds: ['ContractGadget'], project, signal: stop.signal });
      const seen: WatchEvent[] = [];
      const following = (async () => {
        try {
          for await (const event of watch) {
            seen.push(event);
            if (event.type === 'DELETED') stop.abort();
          }
        } catch (error) {
          if (!stop.signal.aborted) throw error;
        }
      })();
      await admin.create(gadget('g1'));
      // The API reads the object when it fans a change out: wait for the first before the next write.
      await until(() => seen.length === 1);
      await admin.patch(ref('g1'), { spec: { size: 2 } });
      await admin.delete(ref('g1'));
      await controller.removeFinalizer(ref('g1'), GADGET_CONTROLLER);
      await following;
      expect(seen.map((event) => [event.type, event.cause])).toEqual([
        ['ADDED', 'spec'],
        ['MODIFIED', 'spec'],
        ['MODIFIED', 'metadata'],
        ['DELETED', 'delete'],
      ]);
      expect(seen[0]!.object).toMatchObject({ metadata: { name: 'g1', project } });
      expect(seen[3]!.object).toBeUndefined();
      expect(seen.every((event) => event.cursor !== undefined)).toBe(true);
    });
  });
}
