/**
 * The SDK proof's NATS restart: the real API and two controller replicas on a private
 * nats-server that is SIGKILLed and started again on the same store, while changes are in flight.
 * Everything committed is reconciled once the bus is back; no two writers overlap; nothing stays
 * behind; the replicas never restart.
 */
import { keyString, type Resource } from '@tugboat/resource-model';
import { waitUntil } from './harness/cli-processes.js';
import {
  createProofInstallation,
  overlappingWriters,
  PROOF_KIND,
  PROOF_PROJECT,
  readProofLog,
  reconcileRecords,
  startPrivateNats,
  workingReconciles,
  type PrivateNats,
  type ProofInstallation,
} from './harness/sdk-processes.js';

describe('controller SDK proof: NATS restarted under the API and the controllers', () => {
  let nats: PrivateNats;
  let inst: ProofInstallation;

  const ref = (name: string) => ({ kind: PROOF_KIND, project: PROOF_PROJECT, name });

  async function settled(timeoutMs: number): Promise<Resource[]> {
    return waitUntil(
      async () => {
        const all: Resource[] = [];
        try {
          for await (const obj of inst.admin.listAll(PROOF_KIND, { project: PROOF_PROJECT })) all.push(obj);
        } catch {
          return undefined;
        }
        return all.every((obj) => obj.status.observedGeneration === obj.metadata.generation && obj.status.phase === 'Ready') ? all : undefined;
      },
      'every widget Ready at its generation',
      timeoutMs,
    );
  }

  async function busState(): Promise<string | undefined> {
    const answer = await fetch(`${inst.apiUrl}/readyz`).catch(() => undefined);
    return answer ? ((await answer.json()) as { bus?: string }).bus : undefined;
  }

  beforeAll(async () => {
    nats = await startPrivateNats();
    inst = await createProofInstallation({ natsUrl: nats.url });
    await Promise.all(['n1', 'n2'].map((replica) => inst.startReplica(replica)));
  }, 90_000);

  afterAll(async () => {
    await inst?.close();
    await nats?.close();
  }, 60_000);

  it('writes accepted while NATS is down and changes in flight when it dies are reconciled after it is back, by replicas that never restarted', async () => {
    const names = ['w1', 'w2', 'w3', 'w4'];
    for (const name of names) await inst.admin.create({ kind: PROOF_KIND, metadata: { name, project: PROOF_PROJECT }, spec: { size: 1 } });
    await settled(30_000);

    // Changes in flight when the bus dies: some published, some left in the API's outbox,
    // reconciles running (they lose their leases if the bus stays away long enough).
    for (const name of ['w1', 'w2']) await inst.admin.patch(ref(name), { spec: { size: 2 } });
    await nats.stop('SIGKILL');
    // Postgres is the source of truth: the API keeps accepting writes while the bus is away; their
    // outbox rows wait for the relay.
    await waitUntil(() => busState().then((bus) => (bus === 'disconnected' ? true : undefined)), 'the API sees the bus gone', 10_000);
    for (const name of ['w3', 'w4']) await inst.admin.patch(ref(name), { spec: { size: 2 } });
    await inst.admin.create({ kind: PROOF_KIND, metadata: { name: 'w5', project: PROOF_PROJECT }, spec: { size: 2 } });
    // The outage lasts longer than a lease, so renewals fail meanwhile (a fault's duration, not a wait for a condition).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await nats.start();
    await waitUntil(() => busState().then((bus) => (bus === 'connected' ? true : undefined)), 'the API connected again', 30_000);

    const all = await settled(45_000);
    expect(all).toHaveLength(5);
    expect(all.every((obj) => (obj.status.outputs as { size?: number }).size === 2)).toBe(true);
    for (const replica of ['n1', 'n2']) expect(inst.replicas.get(replica)!.process.exitCode).toBeNull();

    const records = reconcileRecords(await readProofLog(inst.logDir));
    expect(overlappingWriters(records)).toEqual([]);
    for (const obj of all) {
      const object = keyString({ kind: obj.kind, project: obj.metadata.project, name: obj.metadata.name });
      // Two per change, the start-up resync, and retries while the bus was away.
      expect(workingReconciles(records, object).length).toBeLessThanOrEqual(2 * obj.metadata.generation + 3);
    }
  }, 120_000);
});
