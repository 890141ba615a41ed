// Route 53 against the sandbox with the real AWS SDK v3 client: its REST-XML serializer, its id
// normalisation (`/hostedzone/` stripped), its error parser and its SigV4 signer.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  GetHostedZoneCountCommand,
  ListHostedZonesByNameCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';

let t: TestSandbox;
let r53: Route53Client;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandbox-route53-'));
  t = await startTestSandbox({ credentials: [TEST_AWS_CREDENTIALS], stateDir: dir, saveDebounceMs: 20 });
  r53 = new Route53Client({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
});

afterAll(async () => {
  r53.destroy();
  await t.sandbox.close();
  await rm(dir, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

async function setScale(scale: number): Promise<void> {
  const response = await fetch(`${t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scale }) });
  expect(response.status).toBe(200);
}

async function counters(): Promise<{ created: Record<string, number>; deleted: Record<string, number>; current: { route53: Array<{ id: string }> } }> {
  return (await (await fetch(`${t.url}/_sandbox/counters`)).json()) as never;
}

let zoneCount = 0;
async function createZone(name: string): Promise<string> {
  zoneCount += 1;
  const created = await r53.send(new CreateHostedZoneCommand({ Name: name, CallerReference: `ref-${name}-${zoneCount}` }));
  return created.HostedZone?.Id as string;
}

const txt = (name: string, value: string, ttl = 60): ResourceRecordSet => ({ Name: name, Type: 'TXT', TTL: ttl, ResourceRecords: [{ Value: value }] });
const a = (name: string, ...ips: string[]): ResourceRecordSet => ({ Name: name, Type: 'A', TTL: 300, ResourceRecords: ips.map((Value) => ({ Value })) });
const change = (HostedZoneId: string, ...Changes: Change[]) => r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId, ChangeBatch: { Changes } }));

async function allRecordSets(HostedZoneId: string, MaxItems?: number): Promise<ResourceRecordSet[]> {
  const sets: ResourceRecordSet[] = [];
  let from: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
  for (;;) {
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId, ...from, ...(MaxItems !== undefined ? { MaxItems } : {}) }));
    sets.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated) return sets;
    from = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType, ...(page.NextRecordIdentifier ? { StartRecordIdentifier: page.NextRecordIdentifier } : {}) };
  }
}

describe('Route 53 through @aws-sdk/client-route-53', () => {
  it('creates a hosted zone with SOA and NS at the apex, finds it with and without /hostedzone/, and refuses a reused CallerReference', async () => {
    const before = await counters();
    const created = await r53.send(new CreateHostedZoneCommand({ Name: 'Shop.Example.com', CallerReference: 'create-1', HostedZoneConfig: { Comment: 'the shop' } }));
    expect(created.$metadata.httpStatusCode).toBe(201);
    const id = created.HostedZone?.Id as string;
    expect(id).toMatch(/^\/hostedzone\/Z0[A-Z0-9]{19}$/);
    expect(created.Location).toBe(`https://route53.amazonaws.com/2013-04-01${id}`);
    expect(created.HostedZone).toMatchObject({ Name: 'shop.example.com.', CallerReference: 'create-1', Config: { Comment: 'the shop', PrivateZone: false }, ResourceRecordSetCount: 2 });
    expect(created.ChangeInfo).toMatchObject({ Id: expect.stringMatching(/^\/change\/C[A-Z0-9]+$/), Status: expect.stringMatching(/^(PENDING|INSYNC)$/) });
    expect(created.ChangeInfo?.SubmittedAt).toBeInstanceOf(Date);
    const nameServers = created.DelegationSet?.NameServers ?? [];
    expect(nameServers).toHaveLength(4);
    expect(nameServers.map((ns) => ns.replace(/^ns-\d+\.awsdns-\d\d\./, ''))).toEqual(['com', 'net', 'org', 'co.uk']);

    const bare = id.replace('/hostedzone/', '');
    for (const ref of [id, bare]) {
      const got = await r53.send(new GetHostedZoneCommand({ Id: ref }));
      expect(got.HostedZone?.Id).toBe(id);
      expect(got.DelegationSet?.NameServers).toEqual(nameServers);
    }
    const sets = await allRecordSets(id);
    expect(sets.map((s) => [s.Name, s.Type, s.TTL])).toEqual([
      ['shop.example.com.', 'NS', 172800],
      ['shop.example.com.', 'SOA', 900],
    ]);
    expect(sets[0]?.ResourceRecords?.map((r) => r.Value)).toEqual(nameServers.map((ns) => `${ns}.`));
    expect(sets[1]?.ResourceRecords?.[0]?.Value).toBe(`${nameServers[0]}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`);

    const again = await errorOf(r53.send(new CreateHostedZoneCommand({ Name: 'other.example.com', CallerReference: 'create-1' })));
    expect(again).toEqual({ name: 'HostedZoneAlreadyExists', status: 409, message: 'A hosted zone has already been created with the specified caller reference.' });
    const missing = await errorOf(r53.send(new GetHostedZoneCommand({ Id: 'Z0AAAAAAAAAAAAAAAAAAA' })));
    expect(missing).toEqual({ name: 'NoSuchHostedZone', status: 404, message: 'No hosted zone found with ID: Z0AAAAAAAAAAAAAAAAAAA' });
    const tld = await errorOf(r53.send(new CreateHostedZoneCommand({ Name: 'com', CallerReference: 'create-tld' })));
    expect(tld).toMatchObject({ name: 'InvalidDomainName', message: 'com. is reserved by AWS!' });

    const after = await counters();
    expect((after.created['route53:hosted-zone'] ?? 0) - (before.created['route53:hosted-zone'] ?? 0)).toBe(1);
    expect(after.current.route53.some((z) => `/hostedzone/${z.id}` === id)).toBe(true);
    expect((await r53.send(new GetHostedZoneCountCommand({}))).HostedZoneCount).toBeGreaterThanOrEqual(1);
  });

  it('does what cert-manager does: finds the zone by name, UPSERTs and DELETEs an _acme-challenge TXT record, and waits for INSYNC', async () => {
    const id = await createZone('acme.example.org');
    await createZone('example.org');
    const found = await r53.send(new ListHostedZonesByNameCommand({ DNSName: 'acme.example.org' }));
    expect(found.HostedZones?.[0]).toMatchObject({ Id: id, Name: 'acme.example.org.' });
    expect(found.DNSName).toBe('acme.example.org');

    const before = await counters();
    const record = txt('_acme-challenge.www.acme.example.org.', '"token-one"');
    const upserted = await change(id, { Action: 'UPSERT', ResourceRecordSet: record });
    expect(upserted.ChangeInfo?.Id).toMatch(/^\/change\/C[A-Z0-9]+$/);
    // Again, with another value: UPSERT replaces.
    await change(id, { Action: 'UPSERT', ResourceRecordSet: txt('_acme-challenge.www.acme.example.org', '"token-two"') });
    const listed = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: id, StartRecordName: '_acme-challenge.www.acme.example.org', StartRecordType: 'TXT', MaxItems: 1 }));
    expect(listed.ResourceRecordSets).toEqual([txt('_acme-challenge.www.acme.example.org.', '"token-two"')]);

    await setScale(1_000);
    try {
      await waitFor(async () => ((await r53.send(new GetChangeCommand({ Id: upserted.ChangeInfo?.Id }))).ChangeInfo?.Status === 'INSYNC' ? true : undefined), 10_000, 'INSYNC');
    } finally {
      await setScale(1);
    }
    const deleted = await change(id, { Action: 'DELETE', ResourceRecordSet: txt('_acme-challenge.www.acme.example.org.', '"token-two"') });
    expect(deleted.ChangeInfo?.Status).toBe('PENDING');
    expect((await allRecordSets(id)).map((s) => s.Type)).toEqual(['NS', 'SOA']);

    const after = await counters();
    const diff = (kind: 'created' | 'deleted', type: string) => (after[kind][type] ?? 0) - (before[kind][type] ?? 0);
    expect(diff('created', 'route53:change-batch')).toBe(3);
    expect(diff('created', 'route53:record-change')).toBe(3);
    expect(diff('created', 'route53:resource-record-set')).toBe(1);
    expect(diff('deleted', 'route53:resource-record-set')).toBe(1);
  });

  it('keeps a change PENDING until its simulated propagation time has passed, then INSYNC', async () => {
    const id = await createZone('clock.example.net');
    await setScale(0.001); // 5 simulated seconds take 83 real minutes
    try {
      const submitted = await change(id, { Action: 'CREATE', ResourceRecordSet: a('www.clock.example.net', '192.0.2.1') });
      const changeId = submitted.ChangeInfo?.Id as string;
      expect(submitted.ChangeInfo?.Status).toBe('PENDING');
      expect((await r53.send(new GetChangeCommand({ Id: changeId }))).ChangeInfo?.Status).toBe('PENDING');
      expect((await r53.send(new GetChangeCommand({ Id: changeId.replace('/change/', '') }))).ChangeInfo).toMatchObject({ Id: changeId, Status: 'PENDING' });
      await setScale(100_000);
      const status = await waitFor(async () => {
        const got = await r53.send(new GetChangeCommand({ Id: changeId }));
        return got.ChangeInfo?.Status === 'INSYNC' ? got.ChangeInfo.Status : undefined;
      });
      expect(status).toBe('INSYNC');
    } finally {
      await setScale(1);
    }
    const unknown = await errorOf(r53.send(new GetChangeCommand({ Id: 'C0NOSUCHCHANGE0000000' })));
    expect(unknown).toEqual({ name: 'NoSuchChange', status: 404, message: 'A change with the specified change ID does not exist.' });
  });

  it('refuses invalid change batches with InvalidChangeBatch and AWS messages, and applies nothing of a refused batch', async () => {
    const id = await createZone('rules.example.com');
    await change(id, { Action: 'CREATE', ResourceRecordSet: a('www.rules.example.com', '192.0.2.1') });
    const refused = async (...changes: Change[]) => {
      const e = await errorOf(change(id, ...changes));
      expect(e.name).toBe('InvalidChangeBatch');
      expect(e.status).toBe(400);
      return e.message;
    };

    expect(await refused({ Action: 'CREATE', ResourceRecordSet: a('www.rules.example.com', '192.0.2.9') })).toBe(
      "[Tried to create resource record set [name='www.rules.example.com.', type='A'] but it already exists]",
    );
    expect(await refused({ Action: 'DELETE', ResourceRecordSet: a('api.rules.example.com', '192.0.2.1') })).toBe(
      "[Tried to delete resource record set [name='api.rules.example.com.', type='A'] but it was not found]",
    );
    expect(await refused({ Action: 'DELETE', ResourceRecordSet: a('www.rules.example.com', '192.0.2.2') })).toBe(
      "[Tried to delete resource record set [name='www.rules.example.com.', type='A'] but the values provided do not match the current values]",
    );
    expect(await refused({ Action: 'DELETE', ResourceRecordSet: { ...a('www.rules.example.com', '192.0.2.1'), TTL: 60 } })).toBe(
      "[Tried to delete resource record set [name='www.rules.example.com.', type='A'] but the values provided do not match the current values]",
    );
    expect(await refused({ Action: 'CREATE', ResourceRecordSet: a('www.other.example.com', '192.0.2.1') })).toBe(
      '[RRSet with DNS name www.other.example.com. is not permitted in zone rules.example.com.]',
    );
    expect(await refused({ Action: 'CREATE', ResourceRecordSet: { Name: 'www.rules.example.com', Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: 'elsewhere.example.net' }] } })).toBe(
      '[RRSet of type CNAME with DNS name www.rules.example.com. is not permitted because a conflicting RRSet of type A with the same DNS name already exists in zone rules.example.com.]',
    );
    expect(await refused({ Action: 'CREATE', ResourceRecordSet: { Name: 'rules.example.com', Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: 'elsewhere.example.net' }] } })).toBe(
      '[RRSet of type CNAME with DNS name rules.example.com. is not permitted at apex in zone rules.example.com.]',
    );
    expect(await refused({ Action: 'CREATE', ResourceRecordSet: txt('txt.rules.example.com', 'not quoted') })).toBe(
      "[Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with 'not quoted'']",
    );
    expect(await refused({ Action: 'CREATE', ResourceRecordSet: a('bad.rules.example.com', '300.1.2.3') })).toBe(
      "[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '300.1.2.3'']",
    );
    expect(
      await refused({ Action: 'UPSERT', ResourceRecordSet: txt('twice.rules.example.com', '"x"') }, { Action: 'UPSERT', ResourceRecordSet: txt('twice.rules.example.com', '"y"') }),
    ).toBe("[The request contains an invalid set of changes for a resource record set 'TXT twice.rules.example.com.']");
    const soa = (await allRecordSets(id)).find((s) => s.Type === 'SOA') as ResourceRecordSet;
    const ns = (await allRecordSets(id)).find((s) => s.Type === 'NS') as ResourceRecordSet;
    expect(await refused({ Action: 'DELETE', ResourceRecordSet: soa })).toBe('[A HostedZone must contain exactly one SOA record.]');
    expect(await refused({ Action: 'DELETE', ResourceRecordSet: ns })).toBe('[A HostedZone must contain at least one NS record for the zone itself.]');
    const many = Array.from({ length: 1001 }, (_, i) => ({ Value: `10.0.${Math.floor(i / 250)}.${i % 250}` }));
    expect(await refused({ Action: 'CREATE', ResourceRecordSet: { Name: 'many.rules.example.com', Type: 'A', TTL: 60, ResourceRecords: many } })).toBe(
      '[Number of records limit of 1000 exceeded.]',
    );

    // All or nothing, and every problem of the batch in one message.
    expect(
      await refused(
        { Action: 'CREATE', ResourceRecordSet: a('fine.rules.example.com', '192.0.2.5') },
        { Action: 'CREATE', ResourceRecordSet: a('www.rules.example.com', '192.0.2.9') },
        { Action: 'DELETE', ResourceRecordSet: a('gone.rules.example.com', '192.0.2.1') },
      ),
    ).toBe(
      "[Tried to create resource record set [name='www.rules.example.com.', type='A'] but it already exists, Tried to delete resource record set [name='gone.rules.example.com.', type='A'] but it was not found]",
    );
    expect((await allRecordSets(id)).map((s) => s.Name)).not.toContain('fine.rules.example.com.');

    // An alias has no TTL; a TTL beside it is InvalidInput.
    const withTtl = await errorOf(
      change(id, { Action: 'CREATE', ResourceRecordSet: { Name: 'alias.rules.example.com', Type: 'A', TTL: 60, AliasTarget: { HostedZoneId: id, DNSName: 'www.rules.example.com', EvaluateTargetHealth: false } } }),
    );
    expect(withTtl).toEqual({
      name: 'InvalidInput',
      status: 400,
      message:
        'Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with [Action=CREATE, Name=alias.rules.example.com, Type=A, SetIdentifier=null]',
    });

    // Deleting the CNAME's rival and creating the CNAME in one batch is fine: changes see the earlier ones.
    await change(
      id,
      { Action: 'DELETE', ResourceRecordSet: a('www.rules.example.com', '192.0.2.1') },
      { Action: 'CREATE', ResourceRecordSet: { Name: 'www.rules.example.com', Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: 'elsewhere.example.net' }] } },
    );
    expect(await refused({ Action: 'CREATE', ResourceRecordSet: txt('www.rules.example.com', '"x"') })).toBe(
      '[RRSet of type TXT with DNS name www.rules.example.com. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone rules.example.com.]',
    );
  });

  it('keeps alias and wildcard records, lists in reversed-label order by name then type, and pages with MaxItems', async () => {
    const id = await createZone('order.example.com');
    const bare = id.replace('/hostedzone/', '');
    await change(
      id,
      { Action: 'CREATE', ResourceRecordSet: a('*.order.example.com', '192.0.2.10') },
      { Action: 'CREATE', ResourceRecordSet: a('a.order.example.com', '192.0.2.1') },
      { Action: 'CREATE', ResourceRecordSet: a('a-b.order.example.com', '192.0.2.2') },
      { Action: 'CREATE', ResourceRecordSet: txt('a.order.example.com', '"v=spf1 -all"') },
      { Action: 'CREATE', ResourceRecordSet: { Name: 'b.order.example.com', Type: 'MX', TTL: 300, ResourceRecords: [{ Value: '10 mail.example.com' }] } },
      { Action: 'CREATE', ResourceRecordSet: { Name: 'z.a.order.example.com', Type: 'AAAA', TTL: 300, ResourceRecords: [{ Value: '2001:db8::1' }] } },
      { Action: 'CREATE', ResourceRecordSet: { Name: 'order.example.com', Type: 'A', AliasTarget: { HostedZoneId: id, DNSName: 'a.order.example.com', EvaluateTargetHealth: false } } },
    );
    const expected = [
      ['order.example.com.', 'A'],
      ['order.example.com.', 'NS'],
      ['order.example.com.', 'SOA'],
      ['\\052.order.example.com.', 'A'],
      ['a-b.order.example.com.', 'A'],
      ['a.order.example.com.', 'A'],
      ['a.order.example.com.', 'TXT'],
      ['z.a.order.example.com.', 'AAAA'],
      ['b.order.example.com.', 'MX'],
    ];
    const all = await allRecordSets(id);
    expect(all.map((s) => [s.Name, s.Type])).toEqual(expected);
    expect(all[0]).toEqual({ Name: 'order.example.com.', Type: 'A', AliasTarget: { HostedZoneId: bare, DNSName: 'a.order.example.com.', EvaluateTargetHealth: false } });
    expect((await allRecordSets(id, 2)).map((s) => [s.Name, s.Type])).toEqual(expected);
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: id, MaxItems: 4 }));
    expect(page).toMatchObject({ IsTruncated: true, MaxItems: 4, NextRecordName: 'a-b.order.example.com.', NextRecordType: 'A' });

    // A wildcard can be deleted by `*` or `\052`.
    await change(id, { Action: 'DELETE', ResourceRecordSet: a('\\052.order.example.com.', '192.0.2.10') });
    const target = await errorOf(
      change(id, { Action: 'CREATE', ResourceRecordSet: { Name: 'x.order.example.com', Type: 'A', AliasTarget: { HostedZoneId: id, DNSName: 'nothing.order.example.com', EvaluateTargetHealth: false } } }),
    );
    expect(target.message).toBe(`[Tried to create an alias that targets nothing.order.example.com., type A in zone ${bare}, but that target was not found]`);
  });

  it('lists hosted zones with Marker paging and by name in reversed-label order', async () => {
    const ids = [await createZone('zz.paging.test'), await createZone('aa.paging.test'), await createZone('b-a.paging.test')];
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await r53.send(new ListHostedZonesCommand({ MaxItems: 2, ...(marker !== undefined ? { Marker: marker } : {}) }));
      expect(page.HostedZones?.length).toBeLessThanOrEqual(2);
      seen.push(...(page.HostedZones ?? []).map((z) => z.Id as string));
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker !== undefined);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ids) expect(seen).toContain(id);

    const byName = await r53.send(new ListHostedZonesByNameCommand({ DNSName: 'paging.test', MaxItems: 2 }));
    expect(byName.HostedZones?.map((z) => z.Name)).toEqual(['aa.paging.test.', 'b-a.paging.test.']);
    expect(byName).toMatchObject({ IsTruncated: true, MaxItems: 2, NextDNSName: 'zz.paging.test.', NextHostedZoneId: ids[0]?.replace('/hostedzone/', '') });
    const rest = await r53.send(new ListHostedZonesByNameCommand({ DNSName: byName.NextDNSName, HostedZoneId: byName.NextHostedZoneId, MaxItems: 2 }));
    expect(rest.HostedZones?.[0]?.Id).toBe(ids[0]);
  });

  it('deletes only an empty zone (HostedZoneNotEmpty otherwise), and keeps zones and records across a restart', async () => {
    const id = await createZone('delete.example.com');
    await change(id, { Action: 'CREATE', ResourceRecordSet: a('www.delete.example.com', '192.0.2.1') });
    expect(await errorOf(r53.send(new DeleteHostedZoneCommand({ Id: id })))).toEqual({
      name: 'HostedZoneNotEmpty',
      status: 400,
      message: 'The specified hosted zone contains non-required resource record sets and so cannot be deleted.',
    });

    const kept = await createZone('kept.example.com');
    await change(kept, { Action: 'CREATE', ResourceRecordSet: txt('x.kept.example.com', '"kept"') });
    await t.sandbox.close();
    t = await startTestSandbox({ credentials: [TEST_AWS_CREDENTIALS], stateDir: dir, saveDebounceMs: 20 });
    r53.destroy();
    r53 = new Route53Client({ endpoint: t.url, region: 'us-east-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 });
    expect((await allRecordSets(kept)).map((s) => s.Name)).toContain('x.kept.example.com.');

    await change(id, { Action: 'DELETE', ResourceRecordSet: a('www.delete.example.com', '192.0.2.1') });
    const deleted = await r53.send(new DeleteHostedZoneCommand({ Id: id }));
    expect(deleted.ChangeInfo?.Status).toBe('PENDING');
    expect((await errorOf(r53.send(new GetHostedZoneCommand({ Id: id })))).name).toBe('NoSuchHostedZone');
    expect((await errorOf(r53.send(new DeleteHostedZoneCommand({ Id: id })))).name).toBe('NoSuchHostedZone');
  });

  it('refuses an unknown access key and a wrong signature as the other services do', async () => {
    const stranger = new Route53Client({ endpoint: t.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }, maxAttempts: 1 });
    const wrong = new Route53Client({ endpoint: t.url, region: 'us-east-1', credentials: { ...TEST_AWS_CREDENTIALS, secretAccessKey: 'not-the-secret' }, maxAttempts: 1 });
    try {
      expect(await errorOf(stranger.send(new ListHostedZonesCommand({})))).toEqual({
        name: 'InvalidClientTokenId',
        status: 403,
        message: 'The security token included in the request is invalid.',
      });
      expect(await errorOf(wrong.send(new ListHostedZonesByNameCommand({ DNSName: 'example.com' })))).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    } finally {
      stranger.destroy();
      wrong.destroy();
    }
  });
});
