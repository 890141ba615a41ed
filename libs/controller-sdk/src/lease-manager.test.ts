import { randomUUID } from 'node:crypto';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createKvLeaseManager, LeaseLostError, type Lease } from './lease-manager.js';
import { createManualClock, type ManualClock } from './testing/manual-clock.js';

// Time is a manual clock: renewals, the watchdog and expiry happen when the test moves it, never
// by the machine's pace. Only the KV round trips are real (and awaited as conditions).
const TTL = 15_000;
const THIRD = TTL / 3;
const MARGIN = TTL / 4;

function held(result: Awaited<ReturnType<ReturnType<typeof createKvLeaseManager>['acquire']>>): Lease {
  if (!result.held) throw new Error(`expected the lease, busy for ${result.busyForMs} ms`);
  return result.lease;
}

/** A KV that counts settled updates, so a test can await "the renewal landed (or failed)". */
function countingKv(kv: KV, fail: () => boolean = () => false) {
  const counts = { updates: 0, calls: [] as string[] };
  const waiters: Array<() => void> = [];
  const settled = () => {
    counts.updates += 1;
    for (const wake of waiters.splice(0)) wake();
  };
  const wrapped: KV = Object.create(kv, {
    get: { value: (key: string) => (counts.calls.push('get'), kv.get(key)) },
    put: { value: (key: string, data: string, opts?: object) => (counts.calls.push('put'), kv.put(key, data, opts)) },
    create: { value: (key: string, data: string) => (counts.calls.push('create'), kv.create(key, data)) },
    update: {
      value: (key: string, data: string, version: number) => {
        counts.calls.push('update');
        const result = fail() ? Promise.reject(new Error('connection lost')) : kv.update(key, data, version);
        void result.then(settled, settled);
        return result;
      },
    },
  });
  /** Resolves once `n` updates in total have settled. */
  const updatesSettled = async (n: number) => {
    while (counts.updates < n) await new Promise<void>((resolve) => waiters.push(resolve));
    // Let the lease manager's own continuation (after the awaited update) run too.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { kv: wrapped, counts, updatesSettled };
}

function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

describe('createKvLeaseManager (real NATS KV, manual clock)', () => {
  let nc: NatsConnection;
  let kv: KV;
  let clock: ManualClock;

  beforeAll(async () => {
    nc = await connect({ servers: '127.0.0.1:4222' });
  });
  beforeEach(async () => {
    kv = await new Kvm(nc).create(`T_LEASE_${randomUUID().slice(0, 8)}`, { history: 1, ttl: 60_000 });
    clock = createManualClock();
  });
  afterEach(async () => kv.destroy());
  afterAll(async () => nc.close());

  it('excludes a second holder while the first renews, and hands over data on release', async () => {
    const counted = countingKv(kv);
    const a = createKvLeaseManager({ kv: counted.kv, holder: 'a', ttlMs: TTL, clock });
    const b = createKvLeaseManager({ kv, holder: 'b', ttlMs: TTL, clock });
    const lease = held(await a.acquire('Widget/team-a/w'));
    expect(lease.previous).toEqual({});

    const busy = await b.acquire('Widget/team-a/w');
    expect(busy).toEqual({ held: false, busyForMs: TTL });

    // Three TTLs, a renewal every third: each one lands before the next tick, so the lease is
    // never close to expiry and the other replica stays out.
    for (let tick = 1; tick <= 9; tick += 1) {
      clock.advance(THIRD);
      await counted.updatesSettled(tick);
      expect(lease.isHeld()).toBe(true);
    }
    expect(lease.signal.aborted).toBe(false);
    const stillBusy = await b.acquire('Widget/team-a/w');
    expect(stillBusy).toEqual({ held: false, busyForMs: TTL });

    await lease.release({ failures: 2 });
    expect(lease.isHeld()).toBe(false);
    expect(clock.pending).toBe(0);
    const next = held(await b.acquire('Widget/team-a/w'));
    expect(next.previous).toEqual({ failures: 2 });
    await next.release();
  });

  it('takes a new key, or one it released last, in one request; reads the entry when another replica wrote since', async () => {
    const { kv: counted, counts } = countingKv(kv);
    const calls = counts.calls;
    const a = createKvLeaseManager({ kv: counted, holder: 'a', ttlMs: TTL, clock });
    const b = createKvLeaseManager({ kv, holder: 'b', ttlMs: TTL, clock });
    const key = 'Widget/team-a/fast';

    const first = held(await a.acquire(key));
    expect(calls.splice(0)).toEqual(['put']);
    await first.release({ failures: 1 });
    calls.length = 0;
    const again = held(await a.acquire(key));
    expect(calls.splice(0)).toEqual(['update']);
    expect(again.previous).toEqual({ failures: 1 });
    await again.release({ failures: 2 });

    // Another replica took and released it meanwhile: the remembered revision is stale, so the
    // entry is read, and what the other replica left is what counts.
    await held(await b.acquire(key)).release({ failures: 7 });
    calls.length = 0;
    const afterOther = held(await a.acquire(key));
    expect(calls).toEqual(['update', 'get', 'update']);
    expect(afterOther.previous).toEqual({ failures: 7 });

    // Held elsewhere: the fast attempt fails and the answer is "busy", as before.
    await afterOther.release();
    const byB = held(await b.acquire(key));
    calls.length = 0;
    const busy = await a.acquire(key);
    expect(busy.held).toBe(false);
    expect(calls).toEqual(['update', 'get']);
    await byB.release();
  });

  it('sends a release in the caller\'s tick when no renewal is queued, and behind the renewal when one is', async () => {
    const counted = countingKv(kv);
    const calls = counted.counts.calls;
    const a = createKvLeaseManager({ kv: counted.kv, holder: 'a', ttlMs: TTL, clock });
    const first = held(await a.acquire('Widget/team-a/now'));
    calls.length = 0;
    const released = first.release({ failures: 0 });
    // Before anything was awaited: whatever the caller sends next (an ack) goes out with it.
    expect(calls).toEqual(['update']);
    await released;

    const second = held(await a.acquire('Widget/team-a/later'));
    calls.length = 0;
    clock.advance(THIRD); // a renewal is queued on the lease's chain
    const after = second.release();
    expect(calls).toEqual([]); // the release waits behind the queued renewal
    await after;
    expect(calls).toEqual(['update']); // the renewal found the lease released and sent nothing
    // The entry is free for the next holder.
    const b = createKvLeaseManager({ kv, holder: 'b', ttlMs: TTL, clock });
    await held(await b.acquire('Widget/team-a/later')).release();
  });

  it('aborts the signal before expiry when renewals fail, and lets another holder in only after it', async () => {
    let partitioned = false;
    const flaky = countingKv(kv, () => partitioned);
    const a = createKvLeaseManager({ kv: flaky.kv, holder: 'a', ttlMs: TTL, clock });
    const b = createKvLeaseManager({ kv, holder: 'b', ttlMs: TTL, clock });
    const acquiredAt = clock.now();
    const lease = held(await a.acquire('Widget/team-a/w'));
    partitioned = true;
    let abortedAt: number | undefined;
    lease.signal.addEventListener('abort', () => (abortedAt = clock.now()));

    // Walk the clock in small steps; the other replica tries at every step.
    const step = 250;
    let other: Lease | undefined;
    let otherAt = 0;
    let renewals = 0;
    while (other === undefined && clock.now() < acquiredAt + 2 * TTL) {
      const before = clock.now();
      clock.advance(step);
      // A renewal tick fired in this step: wait until its (failing) request settled.
      const ticks = Math.floor((clock.now() - acquiredAt) / THIRD) - Math.floor((before - acquiredAt) / THIRD);
      if (ticks > 0 && abortedAt === undefined) {
        renewals += ticks;
        await flaky.updatesSettled(renewals);
      }
      const result = await b.acquire('Widget/team-a/w');
      if (result.held) {
        other = result.lease;
        otherAt = clock.now();
      }
    }
    expect(other).toBeDefined();
    // Given up a safety margin before the expiry; the other replica got in only at the expiry.
    expect(abortedAt).toBe(acquiredAt + TTL - MARGIN);
    expect(otherAt).toBe(acquiredAt + TTL);
    expect(otherAt).toBeGreaterThan(abortedAt!);
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(() => lease.assertHeld()).toThrow(LeaseLostError);
    await other!.release();
  });

  it('loses the lease at the next renewal when another holder took the entry', async () => {
    const lost: string[] = [];
    const a = createKvLeaseManager({ kv, holder: 'a', ttlMs: TTL, clock, onLost: (key) => lost.push(key) });
    const takenAt = clock.now();
    const lease = held(await a.acquire('Widget/team-a/w'));
    await kv.put('Widget/team-a/w', JSON.stringify({ holder: 'intruder', expiresAt: clock.now() + 60_000 }));
    clock.advance(THIRD);
    await aborted(lease.signal);
    // At the first renewal, long before the watchdog's deadline: the failed compare-and-set told it.
    expect(clock.now()).toBe(takenAt + THIRD);
    expect(String((lease.signal.reason as Error).message)).toContain('taken over');
    expect(lost).toEqual(['Widget/team-a/w']);
  });
});
