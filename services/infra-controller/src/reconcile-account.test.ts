/**
 * The AwsAccount check against the SDK's fake API and a real, in-process sandbox (its STS speaks
 * the real protocol and verifies SigV4 signatures of the keys it was given).
 */
import { classifyAwsError } from '@tugboat/aws';
import { createFakeApi, reconcileOnce, type FakeApi } from '@tugboat/controller-sdk/testing';
import { AWS_ACCOUNT, INFRA_CONTROLLER, type Resource } from '@tugboat/resource-model';
import { DEFAULT_ACCOUNT_ID } from '@tugboat/sandbox';
import { startTestSandbox, type TestSandbox } from '../../sandbox/src/test-support/start-test-sandbox.js';
import type { AwsAccountSpec, AwsAccountStatus } from './account-types.js';
import { createAccountController } from './infra-controller.js';

const KEY = { accessKeyId: 'AKIAINFRATEST0000001', secretAccessKey: 'infra-test-secret' };
const ROLE = `arn:aws:iam::${DEFAULT_ACCOUNT_ID}:role/tugboat-provisioner`;

let sandbox: TestSandbox;
let api: FakeApi;
let counter = 0;

beforeAll(async () => {
  sandbox = await startTestSandbox({ credentials: [KEY] });
});
afterAll(async () => {
  await sandbox?.sandbox.close();
});
beforeEach(() => {
  api = createFakeApi({ kinds: [AWS_ACCOUNT], identity: { name: INFRA_CONTROLLER, type: 'controller', controller: INFRA_CONTROLLER } });
  sandbox.sandbox.faults.clear();
});

async function check(spec: Partial<AwsAccountSpec>) {
  const obj = await api.create<AwsAccountSpec>({
    kind: 'AwsAccount',
    metadata: { name: `acct-${++counter}` },
    spec: { accountId: DEFAULT_ACCOUNT_ID, region: 'eu-west-1', endpoint: sandbox.url, ...spec },
  });
  const controller = createAccountController({ retryMs: 100, recheckEveryMs: 60_000 });
  const { report, object } = await reconcileOnce(controller, obj, { api });
  return { report, object: object as Resource<AwsAccountSpec, AwsAccountStatus> };
}

/** The SDK puts a status update's reason and message on the `Ready` condition. */
const ready = (status: AwsAccountStatus) => status.conditions?.find((c) => c.type === 'Ready');

describe('infra-controller: AwsAccount', () => {
  it('is Ready with the account id and the caller when STS accepts the keys', async () => {
    const { object } = await check(KEY);
    expect(object.status).toMatchObject({
      phase: 'Ready',
      outputs: { accountId: DEFAULT_ACCOUNT_ID, callerArn: expect.stringContaining(`arn:aws:iam::${DEFAULT_ACCOUNT_ID}:`), region: 'eu-west-1' },
    });
    expect(object.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'CredentialsValid', status: 'True', reason: 'Verified' })]));
  });

  it('assumes the role with the keys, and is Ready as the assumed role', async () => {
    const { object } = await check({ ...KEY, roleArn: ROLE, externalId: 'ext-123' });
    expect(object.status.phase).toBe('Ready');
    expect(object.status.outputs?.callerArn).toContain('tugboat-provisioner');
  });

  it('is Failed (InvalidCredentials) with AWS’s own message for a key STS refuses, and makes no other call', async () => {
    const { object } = await check({ accessKeyId: KEY.accessKeyId, secretAccessKey: 'wrong-secret' });
    expect(object.status.phase).toBe('Failed');
    expect(ready(object.status)).toMatchObject({ status: 'False', reason: 'InvalidCredentials', message: expect.stringMatching(/^access key AKIAINFRATEST0000001 refused by AWS: SignatureDoesNotMatch: /) });
    expect(object.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'CredentialsValid', status: 'False', reason: 'Invalid' })]));
    const unknown = await check({ accessKeyId: 'AKIAUNKNOWNKEY000001', secretAccessKey: 'x' });
    expect(unknown.object.status.phase).toBe('Failed');
    expect(ready(unknown.object.status)).toMatchObject({ reason: 'InvalidCredentials', message: expect.stringContaining('InvalidClientTokenId') });
  });

  it('is Failed (AccountMismatch) when the credentials belong to another account', async () => {
    const { object } = await check({ ...KEY, accountId: '999999999999' });
    expect(object.status.phase).toBe('Failed');
    expect(ready(object.status)).toMatchObject({ reason: 'AccountMismatch', message: expect.stringContaining(`belong to account ${DEFAULT_ACCOUNT_ID}`) });
  });

  it('is Progressing while STS throttles, then Ready once it answers', async () => {
    sandbox.sandbox.faults.add({ service: 'sts', operation: 'GetCallerIdentity', throttle: true, failNext: 10 });
    const throttled = await check(KEY);
    expect(throttled.object.status.phase).toBe('Progressing');
    expect(ready(throttled.object.status)).toMatchObject({ status: 'False', reason: 'AwsUnavailable', message: expect.stringContaining('Throttling') });
    sandbox.sandbox.faults.clear();
    const again = await reconcileOnce(createAccountController({ retryMs: 100 }), throttled.object, { api });
    expect(again.object?.status.phase).toBe('Ready');
  });

  it('tells refused credentials from what a retry may cure', () => {
    expect(classifyAwsError({ name: 'InvalidClientTokenId' })).toBe('Refused');
    expect(classifyAwsError({ name: 'Whatever', $metadata: { httpStatusCode: 403 } })).toBe('Refused');
    expect(classifyAwsError({ name: 'Throttling', $metadata: { httpStatusCode: 400 } })).toBe('Throttled');
    expect(classifyAwsError(new Error('socket hang up'))).toBe('Transient');
  });
});
