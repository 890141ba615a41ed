import type { Route53Client } from '@aws-sdk/client-route-53';
import { createZoneBatcher, planHost, planRemoval, type HostRecords } from './dns-records.js';

const owner = { installation: 'tugboat', project: 'shop', name: 'web' };
const OWNER_VALUE = '"heritage=tugboat,tugboat/installation=tugboat,tugboat/exposure=shop/web"';
const cname = (value: string) => ({ Name: 'web.example.com.', Type: 'CNAME' as const, TTL: 60, ResourceRecords: [{ Value: value }] });
const txt = (value: string) => ({ Name: '_tugboat.web.example.com.', Type: 'TXT' as const, TTL: 60, ResourceRecords: [{ Value: value }] });

describe('DNS record plans', () => {
  it('creates the owner TXT with the CNAME when nothing is there, in one batch (CREATE: a race is refused by Route 53)', () => {
    const plan = planHost('web.example.com', 'lb-1.elb.amazonaws.com', { atHost: [], owner: undefined }, owner);
    expect(plan).toMatchObject({ kind: 'change', changes: [{ Action: 'CREATE', ResourceRecordSet: txt(OWNER_VALUE) }, { Action: 'CREATE', ResourceRecordSet: cname('lb-1.elb.amazonaws.com') }] });
  });

  it('does nothing when its own record already points at the load balancer, and UPSERTs only its own CNAME when the load balancer moved', () => {
    const records: HostRecords = { atHost: [cname('lb-1.elb.amazonaws.com')], owner: txt(OWNER_VALUE) };
    expect(planHost('web.example.com', 'lb-1.elb.amazonaws.com', records, owner)).toEqual({ kind: 'inSync' });
    expect(planHost('web.example.com', 'lb-2.elb.amazonaws.com', records, owner)).toMatchObject({ kind: 'change', changes: [{ Action: 'UPSERT', ResourceRecordSet: cname('lb-2.elb.amazonaws.com') }] });
  });

  it('never touches a record another exposure or someone else owns', () => {
    const someoneElse = planHost('web.example.com', 'lb-1', { atHost: [cname('other.example.net')], owner: undefined }, owner);
    expect(someoneElse).toMatchObject({ kind: 'notOwned', message: expect.stringContaining('CNAME web.example.com (other.example.net)') });
    const otherExposure = planHost('web.example.com', 'lb-1', { atHost: [cname('lb-1')], owner: txt('"heritage=tugboat,tugboat/installation=tugboat,tugboat/exposure=team/other"') }, owner);
    expect(otherExposure.kind).toBe('notOwned');
    expect(planRemoval({ atHost: [cname('lb-1')], owner: txt('"something else"') }, owner)).toEqual([]);
    expect(planRemoval({ atHost: [cname('lb-1')], owner: txt(OWNER_VALUE) }, owner)).toEqual([
      { Action: 'DELETE', ResourceRecordSet: cname('lb-1') },
      { Action: 'DELETE', ResourceRecordSet: txt(OWNER_VALUE) },
    ]);
  });
});

describe('zone batcher', () => {
  const client = (fail: (changes: unknown[]) => boolean) => {
    const batches: unknown[][] = [];
    const route53 = {
      send: async (command: { input: { ChangeBatch: { Changes: unknown[] } } }) => {
        const changes = command.input.ChangeBatch.Changes;
        batches.push(changes);
        if (fail(changes)) throw Object.assign(new Error('[Tried to create resource record set but it already exists]'), { name: 'InvalidChangeBatch' });
        return { ChangeInfo: { Id: `/change/C${batches.length}` } };
      },
    } as unknown as Route53Client;
    return { route53, batches };
  };

  it('sends the changes submitted to one zone within the window as one batch', async () => {
    const { route53, batches } = client(() => false);
    const batcher = createZoneBatcher({ windowMs: 20 });
    const ids = await Promise.all([batcher.submit('acct', route53, 'Z1', [{ Action: 'CREATE' } as never]), batcher.submit('acct', route53, 'Z1', [{ Action: 'UPSERT' } as never])]);
    expect(batches).toHaveLength(1);
    expect(ids).toEqual(['/change/C1', '/change/C1']);
  });

  it('sends a refused batch again change set by change set, so one bad change fails only its own submitter', async () => {
    const { route53, batches } = client((changes) => changes.some((change) => (change as { Action: string }).Action === 'DELETE'));
    const batcher = createZoneBatcher({ windowMs: 20 });
    const good = batcher.submit('acct', route53, 'Z1', [{ Action: 'CREATE' } as never]);
    const bad = batcher.submit('acct', route53, 'Z1', [{ Action: 'DELETE' } as never]);
    await expect(good).resolves.toMatch(/^\/change\//);
    await expect(bad).rejects.toThrow('already exists');
    expect(batches).toHaveLength(3);
  });
});
