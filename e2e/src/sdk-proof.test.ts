/**
 * The controller SDK's guarantees, end to end: the real API and replicas of a test controller as
 * separate processes on real Postgres and NATS, while processes are killed and paused. Every
 * reconcile is logged as (object, replica, start, end, outcome, writes); the proof fails on two
 * reconciles of one object that both wrote and overlap, on an object left behind its generation,
 * or on more than a small bound of reconciles per change.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventSubject, keyString, streamNames, type ChangeEvent, type Resource } from '@tugboat/resource-model';
import { NATS_URL, waitUntil, type Child } from './harness/cli-processes.js';
import {
  createProofInstallation,
  overlappingWriters,
  PROOF_KIND,
  PROOF_PROJECT,
  readProofLog,
  reconcileRecords,
  workingReconciles,
  type ProofInstallation,
} from './harness/sdk-processes.js';

const LEASE_TTL_MS = 2_000;

describe('controller SDK proof (real API, controller replicas as processes)', () => {
  let inst: ProofInstallation;
  let nc: NatsConnection;
  /** Duplicate events the test published, per object. */
  const duplicates = new Map<string, number>();
  /** Objects deleted during the run (a delete is a change too). */
  const deleted = new Set<string>();

  const ref = (name: string) => ({ kind: PROOF_KIND, project: PROOF_PROJECT, name });
  const id = (name: string) => keyString(ref(name));

  async function widgets(): Promise<Resource[]> {
    const all: Resource[] = [];
    for await (const obj of inst.admin.listAll(PROOF_KIND, { project: PROOF_PROJECT })) all.push(obj);
    return all;
  }

  /** Every widget Ready at its current generation, no delete pending. */
  async function settled(timeoutMs = 30_000): Promise<Resource[]> {
    // What was still behind when the wait gave up: the failure says which and how.
    let behind: Resource[] = [];
    return waitUntil(
      async () => {
        const all = await widgets().catch(() => undefined);
        if (all === undefined) return undefined;
        behind = all.filter((obj) => obj.status.observedGeneration !== obj.metadata.generation || obj.status.phase !== 'Ready' || obj.metadata.deletionRequestedAt !== null);
        return behind.length === 0 ? all : undefined;
      },
      'every widget Ready at its generation',
      timeoutMs,
    ).catch(async (error: unknown) => {
      const records = (await readProofLog(inst.logDir).catch(() => [])).filter((line) => behind.some((obj) => JSON.stringify(line).includes(`"${obj.metadata.name}"`)));
      const shown = behind.map((obj) => `${obj.metadata.name} gen ${obj.metadata.generation} ${JSON.stringify(obj.status)}${obj.metadata.deletionRequestedAt ? ' deleting' : ''}`);
      // The API's own lines, without the polling of this wait.
      const output = (inst.api?.output() ?? '').split('\n').filter((line) => !line.includes('"path":"/v1/proofwidgets","status":200'));
      const names = behind.map((obj) => obj.metadata.name);
      const replicas = [...inst.replicas].map(([replica, child]) => `${replica}: ${child.output().split('\n').filter((line) => names.some((n) => line.includes(n)) || /error|warn/i.test(line)).slice(-15).join('\n')}`);
      throw new Error(`${(error as Error).message}; behind: ${shown.join('; ')}\nAPI output (tail):\n${output.slice(-40).join('\n')}\nreplicas:\n${replicas.join('\n')}\nreconcile log:\n${records.slice(-20).map((r) => JSON.stringify(r)).join('\n')}`);
    });
  }

  async function stopReplica(replica: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = inst.replicas.get(replica);
    if (child === undefined) return;
    const running = child.process.exitCode === null && child.process.signalCode === null;
    if (running) child.process.kill(signal);
    const exit = await child.exited;
    // A graceful stop (finish running reconciles, release leases, drain) ends with code 0.
    if (running && signal === 'SIGTERM') expect(exit).toEqual({ code: 0, signal: null });
    inst.replicas.delete(replica);
  }

  async function exited(child: Child, what: string, timeoutMs = 20_000): Promise<void> {
    await waitUntil(() => child.process.exitCode !== null || child.process.signalCode !== null, what, timeoutMs);
  }

  beforeAll(async () => {
    inst = await createProofInstallation({ natsUrl: NATS_URL });
    nc = await connect({ servers: NATS_URL });
    await Promise.all(['r1', 'r2', 'r3'].map((replica) => inst.startReplica(replica, { LEASE_TTL_MS: String(LEASE_TTL_MS) })));
  }, 90_000);

  afterAll(async () => {
    await nc?.close();
    await inst?.close();
  }, 60_000);

  it('create → Ready; a spec update is reconciled at its new generation; delete runs finalize and removes the row', async () => {
    const created = await inst.admin.create({ kind: PROOF_KIND, metadata: { name: 'basic', project: PROOF_PROJECT }, spec: { size: 1 } });
    expect(created.metadata.finalizers).toEqual(['proof-controller']);
    const ready = await waitUntil(async () => {
      const obj = await inst.admin.get(ref('basic'));
      return obj?.status.phase === 'Ready' ? obj : undefined;
    }, 'basic Ready');
    expect(ready.status).toMatchObject({ observedGeneration: 1, outputs: { size: 1 } });
    expect(ready.status.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True' });

    await inst.admin.patch(ref('basic'), { spec: { size: 2 } });
    const updated = await waitUntil(async () => {
      const obj = await inst.admin.get(ref('basic'));
      return obj?.status.observedGeneration === 2 ? obj : undefined;
    }, 'basic at generation 2');
    expect(updated.status.outputs).toMatchObject({ size: 2 });

    const deletion = await inst.admin.delete(ref('basic'));
    expect(deletion.deleted).toBe(false);
    deleted.add(id('basic'));
    await waitUntil(async () => ((await inst.admin.get(ref('basic'))) === undefined ? true : undefined), 'basic gone');
    const lines = await readProofLog(inst.logDir);
    expect(lines.some((line) => line.type === 'write' && line.object === id('basic') && (line as { what?: string }).what === 'external-delete')).toBe(true);
  }, 60_000);

  it('a replica SIGKILLed at named points mid-reconcile: another one takes over, nothing is lost', async () => {
    // Only the faulty replica runs while the fault is armed, so it certainly meets it.
    await Promise.all(['r1', 'r2', 'r3'].map((replica) => stopReplica(replica)));
    let round = 0;
    for (const point of ['start', 'after-external-create', 'before-status-write']) {
      round += 1;
      const faulty = await inst.startReplica(`kill-${point}`, { KILL_AT: point, LEASE_TTL_MS: String(LEASE_TTL_MS) });
      for (const n of [1, 2]) {
        await inst.admin.create({ kind: PROOF_KIND, metadata: { name: `k${round}-${n}`, project: PROOF_PROJECT }, spec: { size: n } });
      }
      await exited(faulty, `the replica killed at ${point}`);
      expect(faulty.process.signalCode).toBe('SIGKILL');
      await stopReplica(`kill-${point}`);
      await inst.startReplica(`after-${point}`, { LEASE_TTL_MS: String(LEASE_TTL_MS) });
      await settled();
      await stopReplica(`after-${point}`);
    }

    // One bounded random run: killed anywhere within 1.5 s of its first reconcile; then a healthy one recovers.
    const random = await inst.startReplica('random', { KILL_WITHIN_MS: '1500', LEASE_TTL_MS: String(LEASE_TTL_MS) });
    for (const obj of await widgets()) await inst.admin.patch(ref(obj.metadata.name), { spec: { size: 10 } });
    await exited(random, 'the randomly killed replica');
    await stopReplica('random');
    await inst.startReplica('r1', { LEASE_TTL_MS: String(LEASE_TTL_MS) });
    const all = await settled();
    expect(all.every((obj) => (obj.status.outputs as { size?: number }).size === 10)).toBe(true);
  }, 120_000);

  it('a replica paused longer than its lease loses the object and is stopped before it writes', async () => {
    await stopReplica('r1');
    const paused = await inst.startReplica('paused', { PAUSE_AT: 'start', LEASE_TTL_MS: String(LEASE_TTL_MS) });
    await inst.admin.create({ kind: PROOF_KIND, metadata: { name: 'pause-me', project: PROOF_PROJECT }, spec: { size: 1 } });
    const pause = await waitUntil(async () => (await readProofLog(inst.logDir)).find((line) => line.type === 'pause'), 'the replica paused');
    const pausedAt = pause.at!;

    await inst.startReplica('r2', { LEASE_TTL_MS: String(LEASE_TTL_MS) });
    await inst.admin.patch(ref(pause.object!.split('/')[2]!), { spec: { size: 3 } });
    await waitUntil(async () => {
      const obj = await inst.admin.get(ref(pause.object!.split('/')[2]!));
      return obj?.status.observedGeneration === obj?.metadata.generation && obj?.status.phase === 'Ready' ? true : undefined;
    }, 'another replica reconciled the paused object');
    expect(Date.now() - pausedAt).toBeGreaterThan(LEASE_TTL_MS);
    paused.process.kill('SIGCONT');

    const aborted = await waitUntil(async () => {
      const records = reconcileRecords(await readProofLog(inst.logDir));
      return records.find((record) => record.replica === 'paused' && record.object === pause.object && !['lease-busy', 'unfinished'].includes(record.outcome));
    }, 'the paused reconcile to end');
    expect(aborted.outcome).toBe('aborted');
    expect(aborted.writes).toEqual([]);
    await settled();
    await stopReplica('paused');
  }, 90_000);

  it('the API SIGKILLed between commit and publish (and between commit and answer): what was committed is reconciled', async () => {
    inst.api!.process.kill('SIGTERM');
    await inst.api!.exited;
    const dying = await inst.startApi({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'relay-before-publish', TUGBOAT_KILL_POINT_AFTER: '2' });
    const answered: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) {
      try {
        await inst.admin.create({ kind: PROOF_KIND, metadata: { name: `api-${n}`, project: PROOF_PROJECT }, spec: { size: n } });
        answered.push(`api-${n}`);
      } catch {
        break;
      }
    }
    await exited(dying, 'the API killed before publishing');
    expect(dying.process.signalCode).toBe('SIGKILL');
    expect(answered.length).toBeGreaterThanOrEqual(2);
    await inst.startApi();
    const all = await settled();
    for (const name of answered) expect(all.some((obj) => obj.metadata.name === name)).toBe(true);

    // Killed right after a commit, before answering: the client never heard, the change still counts.
    inst.api!.process.kill('SIGTERM');
    await inst.api!.exited;
    const killedAfterCommit = await inst.startApi({ TUGBOAT_TEST_HOOKS: '1', TUGBOAT_KILL_POINT: 'after-commit' });
    const unanswered = await inst.admin.create({ kind: PROOF_KIND, metadata: { name: 'api-unanswered', project: PROOF_PROJECT }, spec: { size: 7 } }).catch((error: unknown) => error);
    expect(unanswered).toBeInstanceOf(Error);
    await exited(killedAfterCommit, 'the API killed after its commit');
    await inst.startApi();
    const after = await settled();
    expect(after.find((obj) => obj.metadata.name === 'api-unanswered')?.status.outputs).toEqual({ size: 7 });
  }, 90_000);

  it('duplicate events cost at most a no-op reconcile each and change nothing', async () => {
    const before = await settled();
    const js = jetstream(nc);
    for (const obj of before) {
      const event: ChangeEvent = {
        kind: obj.kind,
        project: obj.metadata.project,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        generation: obj.metadata.generation,
        resourceVersion: obj.metadata.resourceVersion,
        cause: 'spec',
        seq: 'duplicate',
        at: new Date().toISOString(),
      };
      for (const copy of [1, 2]) {
        await js.publish(eventSubject(inst.prefix, event, event.cause), JSON.stringify(event), { msgID: `dup-${obj.metadata.uid}-${copy}` });
        const objectId = keyString(event);
        duplicates.set(objectId, (duplicates.get(objectId) ?? 0) + 1);
      }
    }
    const jsm = await jetstreamManager(nc);
    await waitUntil(async () => {
      const info = await jsm.consumers.info(streamNames(inst.prefix).eventsStream, `proof-controller-${PROOF_KIND}`);
      return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
    }, 'duplicates consumed');
    const after = await settled();
    expect(after.map((obj) => obj.metadata.resourceVersion)).toEqual(before.map((obj) => obj.metadata.resourceVersion));
  }, 60_000);

  it('across the whole run: no two writers overlapped, nothing is behind, reconciles per change are bounded', async () => {
    const lines = await readProofLog(inst.logDir);
    const records = reconcileRecords(lines);
    // The check itself catches an overlap of two writers of one object.
    const probe = { object: 'o', replica: 'x', pid: 1, outcome: 'done', start: 0, end: 10, writes: [5] };
    expect(overlappingWriters([probe, { ...probe, replica: 'y', pid: 2, start: 9, end: 20, writes: [15] }])).toHaveLength(1);

    expect(overlappingWriters(records)).toEqual([]);
    // Each killed or paused reconcile is on record, as killed or aborted; one was killed after it wrote.
    expect(records.filter((record) => record.outcome === 'killed').length).toBeGreaterThanOrEqual(3);
    expect(records.some((record) => record.outcome === 'killed' && record.writes.length > 0)).toBe(true);
    expect(records.some((record) => record.outcome === 'aborted')).toBe(true);

    const all = await settled();
    const faults = new Map<string, number>();
    for (const line of lines) if ((line.type === 'kill' || line.type === 'pause') && line.object !== undefined) faults.set(line.object, (faults.get(line.object) ?? 0) + 1);
    const objects = new Set([...all.map((obj) => keyString({ kind: obj.kind, project: obj.metadata.project, name: obj.metadata.name })), ...deleted]);
    const report: Array<{ object: string; changes: number; reconciles: number; allowed: number }> = [];
    for (const object of objects) {
      const obj = all.find((o) => keyString({ kind: o.kind, project: o.metadata.project, name: o.metadata.name }) === object);
      // Changes: create and each spec update (= generation), a deletion request and the removal.
      const changes = (obj?.metadata.generation ?? 2) + (deleted.has(object) ? 2 : 0) + (duplicates.get(object) ?? 0);
      const reconciles = workingReconciles(records, object).length;
      // Two per change (a change landing mid-reconcile runs once more), the start-up resync, one retry per fault.
      const allowed = 2 * changes + 1 + 2 * (faults.get(object) ?? 0);
      report.push({ object, changes, reconciles, allowed });
    }
    const over = report.filter((row) => row.reconciles > row.allowed);
    expect(over).toEqual([]);
    const total = report.reduce((sum, row) => sum + row.reconciles, 0);
    const changes = report.reduce((sum, row) => sum + row.changes, 0);
    process.stdout.write(`SDK proof: ${records.length} reconcile records, ${total} working reconciles for ${changes} changes over ${objects.size} objects\n`);
  }, 60_000);
});
