/**
 * Hand-over after a replica dies, with the SDK's default timing: a replica is SIGKILLed while it
 * reconciles an object; another replica must start reconciling it within about the lease TTL
 * (10 s), not after the consumers' old 30 s ack wait. The dead replica's message comes back after
 * the ack wait (half the lease TTL) and the other replica retries the busy lease until it expires.
 * The other replica learns of the object only from that redelivery: the change was delivered
 * before it started, and its start-up resync is not due (the first replica ran it).
 */
import { keyString } from '@tugboat/resource-model';
import { NATS_URL, waitUntil } from './harness/cli-processes.js';
import { createProofInstallation, PROOF_KIND, PROOF_PROJECT, readProofLog, type ProofInstallation } from './harness/sdk-processes.js';

/** The SDK's default lease TTL; the bound asserted is twice that, a generous margin on a loaded machine. */
const DEFAULT_LEASE_TTL_MS = 10_000;

describe('controller SDK hand-over after a replica dies (default timing)', () => {
  let inst: ProofInstallation;

  beforeAll(async () => {
    inst = await createProofInstallation({ natsUrl: NATS_URL });
  }, 90_000);

  afterAll(async () => {
    await inst?.close();
  }, 60_000);

  it('another replica starts the dead replica’s object within the lease time', async () => {
    const ref = { kind: PROOF_KIND, project: PROOF_PROJECT, name: 'handed-over' };
    const object = keyString(ref);
    // The holder's reconcile would take ten minutes: it is mid-reconcile when it dies.
    const holder = await inst.startReplica('holder', { SDK_DEFAULT_TIMING: '1', WORK_MS: '600000' });
    await inst.admin.create({ kind: PROOF_KIND, metadata: { name: ref.name, project: PROOF_PROJECT }, spec: { size: 1 } });
    await waitUntil(async () => (await readProofLog(inst.logDir)).some((l) => l.type === 'start' && l.object === object && l.replica === 'holder'), 'the holder reconciling', 20_000);
    await inst.startReplica('taker', { SDK_DEFAULT_TIMING: '1', WORK_MS: '200' });

    const killedAt = Date.now();
    holder.process.kill('SIGKILL');
    await holder.exited;
    const takenAt = await waitUntil(
      async () => (await readProofLog(inst.logDir)).find((l) => l.type === 'start' && l.object === object && l.replica === 'taker')?.at,
      'the taker reconciling the object',
      60_000,
    );
    const handOverMs = takenAt - killedAt;
    console.log(`hand-over after SIGKILL: ${handOverMs} ms (lease TTL ${DEFAULT_LEASE_TTL_MS} ms, ack wait ${DEFAULT_LEASE_TTL_MS / 2} ms)`);
    expect(handOverMs).toBeLessThan(2 * DEFAULT_LEASE_TTL_MS);

    const ready = await waitUntil(async () => {
      const obj = await inst.admin.get(ref);
      return obj?.status.phase === 'Ready' ? obj : undefined;
    }, 'the object Ready after the hand-over');
    expect(ready.status).toMatchObject({ observedGeneration: 1, outputs: { size: 1 } });
  }, 120_000);
});
