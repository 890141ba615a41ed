// `aws route53 …` (botocore's own REST-XML serializer, id customisations, error parser, waiter and signer) against the sandbox.
import { startTestSandbox, TEST_AWS_CREDENTIALS, type TestSandbox } from '../../test-support/start-test-sandbox.js';
import { cliJson, runAwsCli, type CliResult } from '../../test-support/run-aws-cli.js';

let t: TestSandbox;

beforeAll(async () => {
  t = await startTestSandbox({ credentials: [TEST_AWS_CREDENTIALS] });
});

afterAll(async () => {
  await t.sandbox.close();
});

const route53 = (...args: string[]): Promise<CliResult> => runAwsCli(t.url, ['route53', ...args], TEST_AWS_CREDENTIALS);
const ok = async (...args: string[]) => cliJson(await route53(...args));

async function setScale(scale: number): Promise<void> {
  const response = await fetch(`${t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scale }) });
  expect(response.status).toBe(200);
}

describe('aws route53 against the sandbox', () => {
  it('creates a zone, changes records, waits for the change, lists the records, and refuses to delete a zone that is not empty', async () => {
    const created = await ok('create-hosted-zone', '--name', 'cli.example.com', '--caller-reference', 'cli-1');
    const zone = created.HostedZone as { Id: string; Name: string };
    expect(zone).toMatchObject({ Id: expect.stringMatching(/^\/hostedzone\/Z0[A-Z0-9]{19}$/), Name: 'cli.example.com.' });
    expect((created.DelegationSet as { NameServers: string[] }).NameServers).toHaveLength(4);
    expect(created.Location).toBe(`https://route53.amazonaws.com/2013-04-01${zone.Id}`);

    const batch = JSON.stringify({
      Comment: 'from the CLI',
      Changes: [
        { Action: 'CREATE', ResourceRecordSet: { Name: 'www.cli.example.com', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.1' }, { Value: '192.0.2.2' }] } },
        { Action: 'UPSERT', ResourceRecordSet: { Name: '_acme-challenge.cli.example.com', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"abc"' }] } },
      ],
    });
    await setScale(0.001); // the change is PENDING at first …
    const changed = await ok('change-resource-record-sets', '--hosted-zone-id', zone.Id, '--change-batch', batch);
    const info = changed.ChangeInfo as { Id: string; Status: string; Comment: string };
    expect(info).toMatchObject({ Id: expect.stringMatching(/^\/change\/C/), Status: 'PENDING', Comment: 'from the CLI' });
    expect((await ok('get-change', '--id', info.Id)).ChangeInfo).toMatchObject({ Status: 'PENDING' });
    await setScale(100_000); // … and INSYNC by the waiter's first poll (it would sleep 30 s between polls).
    try {
      const waited = await route53('wait', 'resource-record-sets-changed', '--id', info.Id);
      expect(waited).toMatchObject({ code: 0, stderr: '' });
    } finally {
      await setScale(1);
    }

    const listed = await ok('list-resource-record-sets', '--hosted-zone-id', zone.Id);
    const sets = listed.ResourceRecordSets as Array<{ Name: string; Type: string; ResourceRecords?: Array<{ Value: string }> }>;
    expect(sets.map((s) => [s.Name, s.Type])).toEqual([
      ['cli.example.com.', 'NS'],
      ['cli.example.com.', 'SOA'],
      ['_acme-challenge.cli.example.com.', 'TXT'],
      ['www.cli.example.com.', 'A'],
    ]);
    expect(sets[2]?.ResourceRecords).toEqual([{ Value: '"abc"' }]);
    // The CLI pages by itself with NextRecordName/NextRecordType.
    const paged = await ok('list-resource-record-sets', '--hosted-zone-id', zone.Id, '--page-size', '1');
    expect((paged.ResourceRecordSets as unknown[]).length).toBe(4);

    const notEmpty = await route53('delete-hosted-zone', '--id', zone.Id);
    expect(notEmpty.code).not.toBe(0);
    expect(notEmpty.stderr).toContain(
      'An error occurred (HostedZoneNotEmpty) when calling the DeleteHostedZone operation: The specified hosted zone contains non-required resource record sets and so cannot be deleted.',
    );
    const exists = await route53('change-resource-record-sets', '--hosted-zone-id', zone.Id, '--change-batch', batch);
    expect(exists.stderr).toContain(
      "An error occurred (InvalidChangeBatch) when calling the ChangeResourceRecordSets operation: [Tried to create resource record set [name='www.cli.example.com.', type='A'] but it already exists]",
    );
  });
});
