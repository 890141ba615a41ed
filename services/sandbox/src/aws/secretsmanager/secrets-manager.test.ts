// Secrets Manager against the sandbox with the real AWS SDK v3 client: its AWS JSON 1.1 serializer
// (`X-Amz-Target`), its idempotency tokens and its error parser (`__type`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { startTestSandbox, TEST_AWS_CREDENTIALS, waitFor, type TestSandbox } from '../../test-support/start-test-sandbox.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sandbox-secrets-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Clients {
  t: TestSandbox;
  sm: SecretsManagerClient;
}

async function start(timeScale = 1): Promise<Clients> {
  const t = await startTestSandbox({ stateDir: dir, timeScale, saveDebounceMs: 20, credentials: [TEST_AWS_CREDENTIALS] });
  return { t, sm: new SecretsManagerClient({ endpoint: t.url, region: 'eu-west-1', credentials: TEST_AWS_CREDENTIALS, maxAttempts: 1 }) };
}

async function stop(c: Clients): Promise<void> {
  c.sm.destroy();
  await c.t.sandbox.close();
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string; error: unknown }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message, error };
  }
  throw new Error('expected the call to fail');
}

async function counters(c: Clients): Promise<{ created: Record<string, number>; deleted: Record<string, number>; current: { secretsManager: Array<{ name: string }> } }> {
  return (await (await fetch(`${c.t.url}/_sandbox/counters`)).json()) as never;
}

async function setScale(c: Clients, scale: number): Promise<void> {
  const response = await fetch(`${c.t.url}/_sandbox/time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scale }) });
  expect(response.status).toBe(200);
}

describe('Secrets Manager through @aws-sdk/client-secrets-manager', () => {
  it('creates a secret, reads it by name and ARN, and moves AWSCURRENT/AWSPREVIOUS on each new value', async () => {
    const c = await start();
    try {
      const created = await c.sm.send(new CreateSecretCommand({ Name: 'shop/db', SecretString: '{"password":"one"}', Tags: [{ Key: 'team', Value: 'a' }] }));
      expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop\/db-[A-Za-z0-9]{6}$/);
      expect(created.Name).toBe('shop/db');
      expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/); // the SDK's own idempotency token

      const byName = await c.sm.send(new GetSecretValueCommand({ SecretId: 'shop/db' }));
      expect(byName).toMatchObject({ ARN: created.ARN, Name: 'shop/db', SecretString: '{"password":"one"}', VersionId: created.VersionId, VersionStages: ['AWSCURRENT'] });
      expect(byName.CreatedDate).toBeInstanceOf(Date);
      const byArn = await c.sm.send(new GetSecretValueCommand({ SecretId: created.ARN }));
      expect(byArn.SecretString).toBe('{"password":"one"}');
      // An ARN without its random suffix names the secret too.
      expect((await c.sm.send(new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db' }))).Name).toBe('shop/db');

      const missingPrevious = await errorOf(c.sm.send(new GetSecretValueCommand({ SecretId: 'shop/db', VersionStage: 'AWSPREVIOUS' })));
      expect(missingPrevious.error).toBeInstanceOf(ResourceNotFoundException);

      const second = await c.sm.send(new PutSecretValueCommand({ SecretId: 'shop/db', SecretString: '{"password":"two"}' }));
      expect(second.VersionStages).toEqual(['AWSCURRENT']);
      expect((await c.sm.send(new GetSecretValueCommand({ SecretId: 'shop/db' }))).SecretString).toBe('{"password":"two"}');
      const previous = await c.sm.send(new GetSecretValueCommand({ SecretId: 'shop/db', VersionStage: 'AWSPREVIOUS' }));
      expect(previous).toMatchObject({ SecretString: '{"password":"one"}', VersionId: created.VersionId, VersionStages: ['AWSPREVIOUS'] });

      const third = await c.sm.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: '{"password":"three"}' }));
      const described = await c.sm.send(new DescribeSecretCommand({ SecretId: 'shop/db' }));
      // The first version lost its last label: deprecated, no longer listed.
      expect(described.VersionIdsToStages).toEqual({ [second.VersionId as string]: ['AWSPREVIOUS'], [third.VersionId as string]: ['AWSCURRENT'] });
      expect(described).toMatchObject({ ARN: created.ARN, Name: 'shop/db', RotationEnabled: false, Tags: [{ Key: 'team', Value: 'a' }], PrimaryRegion: 'eu-west-1' });
      expect(described.LastAccessedDate).toBeInstanceOf(Date);
      expect(described.DeletedDate).toBeUndefined();
      // A deprecated version is still readable by its id.
      expect((await c.sm.send(new GetSecretValueCommand({ SecretId: 'shop/db', VersionId: created.VersionId }))).SecretString).toBe('{"password":"one"}');

      const binary = await c.sm.send(new CreateSecretCommand({ Name: 'blob', SecretBinary: new Uint8Array([0, 1, 2, 255]) }));
      expect([...((await c.sm.send(new GetSecretValueCommand({ SecretId: binary.ARN }))).SecretBinary ?? [])]).toEqual([0, 1, 2, 255]);
    } finally {
      await stop(c);
    }
  });

  it('answers ResourceNotFoundException, ResourceExistsException and idempotent retries as Secrets Manager does', async () => {
    const c = await start();
    try {
      const missing = await errorOf(c.sm.send(new GetSecretValueCommand({ SecretId: 'nope' })));
      expect(missing.error).toBeInstanceOf(ResourceNotFoundException);
      expect(missing).toMatchObject({ name: 'ResourceNotFoundException', status: 400, message: "Secrets Manager can't find the specified secret." });

      const token = 'a'.repeat(32);
      const first = await c.sm.send(new CreateSecretCommand({ Name: 'api-key', SecretString: 's3cret', ClientRequestToken: token }));
      const retried = await c.sm.send(new CreateSecretCommand({ Name: 'api-key', SecretString: 's3cret', ClientRequestToken: token }));
      expect(retried).toMatchObject({ ARN: first.ARN, VersionId: token });
      const other = await errorOf(c.sm.send(new CreateSecretCommand({ Name: 'api-key', SecretString: 's3cret' })));
      expect(other.error).toBeInstanceOf(ResourceExistsException);
      expect(other.message).toBe('The operation failed because the secret api-key already exists.');

      const putToken = 'b'.repeat(40);
      await c.sm.send(new PutSecretValueCommand({ SecretId: 'api-key', SecretString: 'next', ClientRequestToken: putToken }));
      const again = await c.sm.send(new PutSecretValueCommand({ SecretId: 'api-key', SecretString: 'next', ClientRequestToken: putToken }));
      expect(again.VersionStages).toEqual(['AWSCURRENT']);
      expect((await c.sm.send(new GetSecretValueCommand({ SecretId: 'api-key', VersionStage: 'AWSPREVIOUS' }))).VersionId).toBe(token);
      const changed = await errorOf(c.sm.send(new PutSecretValueCommand({ SecretId: 'api-key', SecretString: 'different', ClientRequestToken: putToken })));
      expect(changed.name).toBe('ResourceExistsException');

      expect((await errorOf(c.sm.send(new CreateSecretCommand({ Name: 'both', SecretString: 'x', SecretBinary: new Uint8Array([1]) })))).name).toBe('InvalidParameterException');
      expect((await errorOf(c.sm.send(new CreateSecretCommand({ Name: 'bad name!' })))).name).toBe('InvalidParameterException');
      expect((await errorOf(c.sm.send(new TagResourceCommand({ SecretId: 'api-key', Tags: [{ Key: 'aws:x', Value: 'y' }] })))).name).toBe('InvalidParameterException');

      // A secret without a value has no AWSCURRENT yet.
      await c.sm.send(new CreateSecretCommand({ Name: 'empty' }));
      const noValue = await errorOf(c.sm.send(new GetSecretValueCommand({ SecretId: 'empty' })));
      expect(noValue).toMatchObject({ name: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" });

      expect((await counters(c)).created['secretsmanager:secret']).toBe(2);
    } finally {
      await stop(c);
    }
  });

  it('lists by name and tag-key prefixes, pages, and tags and untags', async () => {
    const c = await start();
    try {
      for (let i = 0; i < 5; i += 1) {
        await c.sm.send(new CreateSecretCommand({ Name: `app/${i}`, SecretString: String(i), Tags: i % 2 === 0 ? [{ Key: 'tugboat:owner', Value: `o${i}` }] : [] }));
      }
      await c.sm.send(new CreateSecretCommand({ Name: 'other', SecretString: 'x' }));

      const byName = await c.sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['app/'] }] }));
      expect(byName.SecretList?.map((s) => s.Name)).toEqual(['app/0', 'app/1', 'app/2', 'app/3', 'app/4']);
      const byTag = await c.sm.send(new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: ['tugboat:'] }] }));
      expect(byTag.SecretList?.map((s) => s.Name)).toEqual(['app/0', 'app/2', 'app/4']);
      const negated = await c.sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['!app/'] }] }));
      expect(negated.SecretList?.map((s) => s.Name)).toEqual(['other']);
      expect(Object.values(byTag.SecretList?.[0]?.SecretVersionsToStages ?? {})).toEqual([['AWSCURRENT']]);

      const names: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const page = await c.sm.send(new ListSecretsCommand({ MaxResults: 4, ...(NextToken !== undefined ? { NextToken } : {}) }));
        names.push(...(page.SecretList ?? []).map((s) => s.Name as string));
        NextToken = page.NextToken;
        pages += 1;
      } while (NextToken !== undefined);
      expect(pages).toBe(2);
      expect(names).toEqual(['app/0', 'app/1', 'app/2', 'app/3', 'app/4', 'other']);

      await c.sm.send(new TagResourceCommand({ SecretId: 'other', Tags: [{ Key: 'tugboat:owner', Value: 'x' }, { Key: 'env', Value: 'dev' }] }));
      await c.sm.send(new UntagResourceCommand({ SecretId: 'other', TagKeys: ['env'] }));
      expect((await c.sm.send(new DescribeSecretCommand({ SecretId: 'other' }))).Tags).toEqual([{ Key: 'tugboat:owner', Value: 'x' }]);
      expect((await c.sm.send(new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: ['tugboat:owner'] }] }))).SecretList).toHaveLength(4);
    } finally {
      await stop(c);
    }
  });

  it('schedules a deletion in simulated time, refuses reads meanwhile, restores, and force-deletes at once', async () => {
    const c = await start(1);
    try {
      const { ARN } = await c.sm.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'v' }));
      const both = await errorOf(c.sm.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })));
      expect(both.name).toBe('InvalidParameterException');
      expect((await errorOf(c.sm.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 3 })))).name).toBe('InvalidParameterException');

      const before = Date.now();
      const deleted = await c.sm.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 7 }));
      expect(deleted.ARN).toBe(ARN);
      expect((deleted.DeletionDate as Date).getTime()).toBeGreaterThanOrEqual(before + 7 * 86_400_000 - 1000);

      const read = await errorOf(c.sm.send(new GetSecretValueCommand({ SecretId: 'doomed' })));
      expect(read.error).toBeInstanceOf(InvalidRequestException);
      expect(read.message).toBe("You can't perform this operation on the secret because it was marked for deletion.");
      expect((await errorOf(c.sm.send(new PutSecretValueCommand({ SecretId: 'doomed', SecretString: 'w' })))).name).toBe('InvalidRequestException');
      expect((await errorOf(c.sm.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'w' })))).name).toBe('InvalidRequestException');
      expect((await c.sm.send(new DescribeSecretCommand({ SecretId: 'doomed' }))).DeletedDate).toBeInstanceOf(Date);
      expect((await c.sm.send(new ListSecretsCommand({}))).SecretList).toEqual([]);
      expect((await c.sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true }))).SecretList?.map((s) => s.Name)).toEqual(['doomed']);

      await c.sm.send(new RestoreSecretCommand({ SecretId: ARN }));
      expect((await c.sm.send(new GetSecretValueCommand({ SecretId: 'doomed' }))).SecretString).toBe('v');

      // Seven simulated days in about a second.
      await c.sm.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 7 }));
      await setScale(c, 7 * 86_400);
      await waitFor(
        () => c.sm.send(new DescribeSecretCommand({ SecretId: 'doomed' })).then(
          () => undefined,
          (error: unknown) => (error instanceof ResourceNotFoundException ? true : undefined),
        ),
        10_000,
        'the recovery window to pass',
      );
      expect((await counters(c)).deleted['secretsmanager:secret']).toBe(1);

      await c.sm.send(new CreateSecretCommand({ Name: 'now', SecretString: 'v' }));
      await c.sm.send(new DeleteSecretCommand({ SecretId: 'now', ForceDeleteWithoutRecovery: true }));
      expect((await errorOf(c.sm.send(new GetSecretValueCommand({ SecretId: 'now' })))).name).toBe('ResourceNotFoundException');
      const after = await counters(c);
      expect(after.created['secretsmanager:secret']).toBe(2);
      expect(after.deleted['secretsmanager:secret']).toBe(2);
      expect(after.current.secretsManager).toEqual([]);
    } finally {
      await stop(c);
    }
  });

  it('keeps secrets, versions and a scheduled deletion across a restart, and takes injected faults', async () => {
    const c = await start();
    let arn: string;
    try {
      arn = (await c.sm.send(new CreateSecretCommand({ Name: 'kept', SecretString: 'one' }))).ARN as string;
      await c.sm.send(new PutSecretValueCommand({ SecretId: 'kept', SecretString: 'two' }));
      await c.sm.send(new CreateSecretCommand({ Name: 'going', SecretString: 'x' }));
      await c.sm.send(new DeleteSecretCommand({ SecretId: 'going' }));

      const fault = await fetch(`${c.t.url}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'secretsmanager', operation: 'GetSecretValue', failNext: 1, throttle: true }),
      });
      expect(fault.status).toBeLessThan(300);
      expect(await errorOf(c.sm.send(new GetSecretValueCommand({ SecretId: 'kept' })))).toMatchObject({ name: 'ThrottlingException', status: 400 });
      expect((await c.sm.send(new GetSecretValueCommand({ SecretId: 'kept' }))).SecretString).toBe('two');

      // Failures found before the operation, in JSON 1.1's words.
      const options = { endpoint: c.t.url, region: 'eu-west-1', maxAttempts: 1 };
      const wrongSecret = new SecretsManagerClient({ ...options, credentials: { ...TEST_AWS_CREDENTIALS, secretAccessKey: 'wrong' } });
      const unknownKey = new SecretsManagerClient({ ...options, credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' } });
      try {
        expect(await errorOf(wrongSecret.send(new GetSecretValueCommand({ SecretId: 'kept' })))).toMatchObject({ name: 'InvalidSignatureException', status: 400 });
        expect(await errorOf(unknownKey.send(new GetSecretValueCommand({ SecretId: 'kept' })))).toMatchObject({ name: 'UnrecognizedClientException', status: 400 });
      } finally {
        wrongSecret.destroy();
        unknownKey.destroy();
      }
    } finally {
      await stop(c);
    }
    const d = await start();
    try {
      expect((await d.sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString).toBe('two');
      expect((await d.sm.send(new GetSecretValueCommand({ SecretId: 'kept', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('one');
      expect((await errorOf(d.sm.send(new GetSecretValueCommand({ SecretId: 'going' })))).name).toBe('InvalidRequestException');
      expect((await counters(d)).created['secretsmanager:secret']).toBe(2);
    } finally {
      await stop(d);
    }
  });
});
