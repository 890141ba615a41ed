/**
 * Operator controls end to end: the real API process and a controller process built with the SDK
 * (`fixtures/operator-controller.ts`), on real Postgres and NATS. Suspend stops reconciles (a spec
 * change is skipped, not reconciled) and resume restarts them; "reconcile now" wakes an object that
 * is Failed at its generation; the admin can force-remove a finalizer, a user gets 403.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { isErrorCode, keyString, type Resource } from '@tugboat/resource-model';
import { NODE_TS, startApiProcess, startChild, waitUntil, type ApiProcess, type Child } from './harness/cli-processes.js';

const KIND = 'OpsWidget';
const PROJECT = 'ops';

interface LogLine {
  type: 'start' | 'reconcile' | 'ready';
  object?: string;
  generation?: number;
  outcome?: string;
  at: number;
}

describe('operator controls (real API, SDK controller process)', () => {
  let api: ApiProcess;
  let admin: ApiClient;
  let controller: Child;
  let logDir: string;
  let logFile: string;

  const ref = (name: string) => ({ kind: KIND, project: PROJECT, name });
  const id = (name: string) => keyString(ref(name));

  async function lines(): Promise<LogLine[]> {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  }

  async function whenStatus(name: string, what: string, check: (obj: Resource) => boolean): Promise<Resource> {
    return waitUntil(async () => {
      const obj = await admin.getOrThrow(ref(name));
      return check(obj) ? obj : undefined;
    }, `${name}: ${what}`);
  }

  beforeAll(async () => {
    api = await startApiProcess({ projects: [PROJECT] });
    admin = createApiClient({ baseUrl: api.url, token: api.adminToken });
    await admin.registerKind({
      kind: KIND,
      plural: 'opswidgets',
      singular: 'opswidget',
      shortNames: ['ow'],
      scope: 'Project',
      controller: 'ops-controller',
      schema: { type: 'object', additionalProperties: false, required: ['size'], properties: { size: { type: 'integer', minimum: 0 }, failFirst: { type: 'boolean' } } },
      references: [],
      secretFields: [],
    });
    const { token } = await admin.createToken({ name: 'ops-controller', type: 'controller' });
    logDir = await mkdtemp(join(tmpdir(), 'operator-e2e-'));
    logFile = join(logDir, 'reconciles.jsonl');
    controller = startChild(NODE_TS[0], [...NODE_TS.slice(1), 'e2e/src/fixtures/operator-controller.ts'], {
      ...process.env,
      TUGBOAT_URL: api.url,
      PORT: '',
      TUGBOAT_TOKEN: token,
      NATS_URL: process.env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222',
      TUGBOAT_NATS_PREFIX: api.prefix,
      RECONCILE_LOG: logFile,
    });
    await waitUntil(
      async () => {
        if (controller.process.exitCode !== null) throw new Error(`the controller exited:\n${controller.output()}`);
        return (await lines()).some((line) => line.type === 'ready');
      },
      'the controller ready',
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    if (controller && controller.process.exitCode === null) {
      controller.process.kill('SIGTERM');
      await controller.exited;
    }
    await api?.close();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  }, 30_000);

  it('suspend stops reconciles, resume restarts them', async () => {
    await admin.create({ kind: KIND, metadata: { name: 'steady', project: PROJECT }, spec: { size: 1 } });
    await whenStatus('steady', 'Ready at generation 1', (obj) => obj.status.phase === 'Ready' && obj.status.observedGeneration === 1);

    const suspended = await admin.suspend(ref('steady'));
    expect(suspended.metadata.suspended).toBe(true);
    await admin.patch(ref('steady'), { spec: { size: 2 } });
    // The controller got the change and skipped it: the SDK reports a skip at generation 2, no reconcile started.
    await waitUntil(
      async () => (await lines()).some((l) => l.type === 'reconcile' && l.object === id('steady') && l.outcome === 'skipped' && l.generation === 2),
      'a skipped reconcile of generation 2',
    );
    expect((await lines()).filter((l) => l.type === 'start' && l.object === id('steady') && l.generation !== 1)).toEqual([]);
    const whileSuspended = await admin.getOrThrow(ref('steady'));
    expect(whileSuspended.status.observedGeneration).toBe(1);
    expect(whileSuspended.status.outputs).toEqual({ size: 1 });

    const resumed = await admin.resume(ref('steady'));
    expect(resumed.metadata.suspended).toBeUndefined();
    const ready = await whenStatus('steady', 'Ready at generation 2', (obj) => obj.status.observedGeneration === 2 && obj.status.phase === 'Ready');
    expect(ready.status.outputs).toEqual({ size: 2 });
    expect((await lines()).filter((l) => l.type === 'start' && l.object === id('steady') && l.generation === 2)).toHaveLength(1);

    // Both controls are in the history and the events, with the identity.
    const notes = (await admin.revisions(ref('steady'))).map((r) => r.note).filter(Boolean);
    expect(notes).toEqual(['resumed', 'suspended']);
    const reasons = (await admin.listEvents(ref('steady'))).map((e) => `${e.reason}:${e.source}`);
    expect(reasons).toEqual(expect.arrayContaining(['Suspended:admin', 'Resumed:admin']));
  }, 60_000);

  it('reconcile now wakes an object Failed at its generation', async () => {
    await admin.create({ kind: KIND, metadata: { name: 'flaky', project: PROJECT }, spec: { size: 3, failFirst: true } });
    const failed = await whenStatus('flaky', 'Failed at generation 1', (obj) => obj.status.phase === 'Failed' && obj.status.observedGeneration === 1);
    expect(failed.metadata.generation).toBe(1);
    const startsBefore = (await lines()).filter((l) => l.type === 'start' && l.object === id('flaky')).length;
    expect(startsBefore).toBe(1);

    const requested = await admin.requestReconcile(ref('flaky'));
    expect(requested.metadata.generation).toBe(1);
    const ready = await whenStatus('flaky', 'Ready after the requested reconcile', (obj) => obj.status.phase === 'Ready');
    expect(ready.status).toMatchObject({ observedGeneration: 1, outputs: { size: 3 } });
    expect((await lines()).filter((l) => l.type === 'start' && l.object === id('flaky')).map((l) => l.generation)).toEqual([1, 1]);
    expect((await admin.listEvents(ref('flaky'))).map((e) => e.reason)).toEqual(expect.arrayContaining(['ReconcileFailed', 'ReconcileRequested']));
  }, 60_000);

  it('force-removes a finalizer for the admin; a user gets 403', async () => {
    await admin.create({ kind: KIND, metadata: { name: 'stuck', project: PROJECT }, spec: { size: 1 } });
    await whenStatus('stuck', 'Ready', (obj) => obj.status.phase === 'Ready');
    // Suspended, its controller does not finalize it: the delete waits on the finalizer.
    await admin.suspend(ref('stuck'));
    const deletion = await admin.delete(ref('stuck'));
    expect(deletion.deleted).toBe(false);
    await waitUntil(
      async () => (await lines()).some((l) => l.type === 'reconcile' && l.object === id('stuck') && l.outcome === 'skipped'),
      'the controller skipping the suspended object',
    );
    expect((await admin.getOrThrow(ref('stuck'))).metadata.finalizers).toEqual(['ops-controller']);

    // An editor of the project: she sees the object, so she is told why not (403).
    const { token } = await admin.createToken({ name: 'dana', project: PROJECT, role: 'editor' });
    const user = createApiClient({ baseUrl: api.url, token });
    const refused = await user.removeFinalizer(ref('stuck'), 'ops-controller', { force: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isErrorCode(refused, 'Forbidden')).toBe(true);
    expect(await admin.get(ref('stuck'))).toBeDefined();

    const forced = await admin.removeFinalizer(ref('stuck'), 'ops-controller', { force: true });
    expect(forced.deleted).toBe(true);
    expect(await admin.get(ref('stuck'))).toBeUndefined();
    const history = await admin.revisions(ref('stuck'));
    expect(history.slice(0, 2).map((r) => `${r.cause}:${r.actor}:${r.note ?? ''}`)).toEqual([
      'delete:admin:',
      'metadata:admin:finalizer ops-controller force-removed',
    ]);
  }, 60_000);
});
