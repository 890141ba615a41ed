/**
 * A password kept in (the sandbox's) Secrets Manager, read with an account's credentials: once per
 * version, the new one after a rotation; a secret without a password is an error naming it.
 */
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createSandboxServer, type SandboxServer } from '@tugboat/sandbox';
import pino from 'pino';
import { createAccountCredentials, type AccountRef } from './account.js';
import { createManagedSecrets } from './managed-secrets.js';

const KEYS = { accessKeyId: 'AKIASECRETSTESTKEY01', secretAccessKey: 'secrets-test-secret' };

describe('managed secrets against the sandbox', () => {
  let sandbox: SandboxServer;
  let url: string;
  beforeAll(async () => {
    sandbox = createSandboxServer({ port: 0, credentials: [{ ...KEYS, userName: 'ci' }], logger: pino({ level: 'silent' }) });
    ({ url } = await sandbox.start());
  });
  afterAll(() => sandbox.close());

  it('reads the password of each version once, and the new one after a rotation', async () => {
    const sm = new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: KEYS });
    const created = await sm.send(new CreateSecretCommand({ Name: 'db-orders', SecretString: JSON.stringify({ username: 'tugboat', password: 'first' }) }));
    const account: AccountRef = { uid: 'a1', generation: 1, name: 'main', spec: { accountId: '123456789012', region: 'us-east-1', endpoint: url, accessKeyId: KEYS.accessKeyId } };
    let reads = 0;
    const readSecrets = () => {
      reads += 1;
      return Promise.resolve({ secretAccessKey: KEYS.secretAccessKey });
    };
    const secrets = createManagedSecrets({ credentials: createAccountCredentials() });
    const read = (version?: string) => secrets.password({ account, readSecrets, region: 'us-east-1', secretArn: created.ARN!, ...(version ? { version } : {}) });
    expect(await read(created.VersionId)).toBe('first');
    expect(await read(created.VersionId)).toBe('first');
    const rotated = await sm.send(new PutSecretValueCommand({ SecretId: created.ARN!, SecretString: JSON.stringify({ username: 'tugboat', password: 'second' }) }));
    expect(await read(rotated.VersionId)).toBe('second');
    expect(await read()).toBe('second');
    expect(reads).toBe(1);

    await sm.send(new CreateSecretCommand({ Name: 'not-a-password', SecretString: 'plain text' }));
    await expect(secrets.password({ account, readSecrets, region: 'us-east-1', secretArn: 'not-a-password' })).rejects.toThrow('secret not-a-password holds no password');
    sm.destroy();
  });
});
