import { randomUUID } from 'node:crypto';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createKvLeaseManager, LeaseLostError, type Lease } from './lease-manager.js';

const TTL = 600;

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function held(result: Awaited<ReturnType<ReturnType<typeof createKvLeaseManager>['acquire']>>): Lease {
  if (!result.held) throw new Error(`expected the lease, busy for ${result.busyForMs} ms`);
  return result.lease;
}

describe('createKvLeaseManager (real NATS KV)', () => {
  let nc: NatsConnection;
  let kv: KV;

  beforeAll(async () => {
    nc = await connect({ servers: '127.0.0.1:4222' });
  });
  beforeEach(async () => {
    kv = await new Kvm(nc).create(`T_LEASE_${randomUUID().slice(0, 8)}`, { history: 1, ttl: 60_000 });
  });
  afterEach(async () => kv.destroy());
  afterAll(async () => nc.close());

  it('excludes a second holder while the first renews, and hands over data on release', async () => {
    const a = createKvLeaseManager({ kv, holder: 'a', ttlMs: TTL });
    const b = createKvLeaseManager({ kv, holder: 'b', ttlMs: TTL });
    const lease = held(await a.acquire('Widget/team-a/w'));
    expect(lease.previous).toEqual({});

    const busy = await b.acquire('Widget/team-a/w');
    expect(busy.held).toBe(false);
    expect(!busy.held && busy.busyForMs).toBeGreaterThan(0);
    expect(!busy.held && busy.busyForMs).toBeLessThanOrEqual(TTL);

    // Well past one TTL: renewals keep it held and keep the other replica out.
    await new Promise((resolve) => setTimeout(resolve, TTL * 2));
    expect(lease.isHeld()).toBe(true);
    expect(lease.signal.aborted).toBe(false);
    expect((await b.acquire('Widget/team-a/w')).held).toBe(false);

    await lease.release({ failures: 2 });
    expect(lease.isHeld()).toBe(false);
    const next = held(await b.acquire('Widget/team-a/w'));
    expect(next.previous).toEqual({ failures: 2 });
    await next.release();
  });

  it('takes a new key, or one it released last, in one request; reads the entry when another replica wrote since', async () => {
    const calls: string[] = [];
    const counted: KV = Object.create(kv, {
      get: { value: (key: string) => (calls.push('get'), kv.get(key)) },
      put: { value: (key: string, data: string, opts?: object) => (calls.push('put'), kv.put(key, data, opts)) },
      create: { value: (key: string, data: string) => (calls.push('create'), kv.create(key, data)) },
      update: { value: (key: string, data: string, version: number) => (calls.push('update'), kv.update(key, data, version)) },
    });
    const a = createKvLeaseManager({ kv: counted, holder: 'a', ttlMs: TTL });
    const b = createKvLeaseManager({ kv, holder: 'b', ttlMs: TTL });
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
    await (held(await b.acquire(key))).release({ failures: 7 });
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

  it('aborts the signal before expiry when renewals fail, and lets another holder in after it', async () => {
    let partitioned = false;
    const flaky: KV = Object.create(kv, {
      update: {
        value: (key: string, data: string, version: number) =>
          partitioned ? Promise.reject(new Error('connection lost')) : kv.update(key, data, version),
      },
    }) as KV;
    const a = createKvLeaseManager({ kv: flaky, holder: 'a', ttlMs: TTL });
    const b = createKvLeaseManager({ kv, holder: 'b', ttlMs: TTL });
    const lease = held(await a.acquire('Widget/team-a/w'));
    partitioned = true;
    let abortedAt = 0;
    lease.signal.addEventListener('abort', () => (abortedAt = Date.now()));

    // The other replica tries all along; it must get in only after the first one gave up.
    let other: Lease | undefined;
    let acquiredAt = 0;
    const deadline = Date.now() + 5_000;
    while (other === undefined && Date.now() < deadline) {
      const result = await b.acquire('Widget/team-a/w');
      if (result.held) {
        other = result.lease;
        acquiredAt = Date.now();
      } else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(other).toBeDefined();
    expect(abortedAt).toBeGreaterThan(0);
    expect(abortedAt).toBeLessThanOrEqual(acquiredAt);
    expect(lease.signal.reason).toBeInstanceOf(LeaseLostError);
    expect(() => lease.assertHeld()).toThrow(LeaseLostError);
    await other!.release();
  });

  it('loses the lease at once when another holder took the entry', async () => {
    const lost: string[] = [];
    const a = createKvLeaseManager({ kv, holder: 'a', ttlMs: TTL, onLost: (key) => lost.push(key) });
    const lease = held(await a.acquire('Widget/team-a/w'));
    await kv.put('Widget/team-a/w', JSON.stringify({ holder: 'intruder', expiresAt: Date.now() + 60_000 }));
    await until(() => lease.signal.aborted, TTL);
    expect(String((lease.signal.reason as Error).message)).toContain('taken over');
    expect(lost).toEqual(['Widget/team-a/w']);
  });
});
