/**
 * Day two: a storage increase and a class change applied with ModifyDBInstance, at once or in the
 * maintenance window (the sandbox's simulated clock brings the window), and a definition change
 * (backup retention) rolled out to its instances.
 */
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PROJECT, ready, REGION, startHarness, type DatabaseObject, type Harness } from './test-support/database-harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.account('main');
  await h.cluster('prod', 'main', await h.network('10.60'));
});
afterAll(async () => {
  await h?.close();
});

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** RDS's weekly window (UTC) starting `fromNowMs` from now, an hour long. */
function windowFromNow(fromNowMs: number): string {
  const at = (ms: number) => {
    const d = new Date(ms);
    return `${DAYS[d.getUTCDay()]}:${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  };
  const start = Date.now() + fromNowMs;
  return `${at(start)}-${at(start + 3_600_000)}`;
}

const describe1 = async (id: string) => (await h.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
const appliedAt = (generation: number) => (o: DatabaseObject | undefined) => o?.status.phase === 'Ready' && o.status.observedGeneration === generation && o.status.pendingChanges === undefined;

describe('managed-services-controller: DatabaseInstance day two', () => {
  it('grows storage and changes class at once when the definition says immediately', async () => {
    await h.definition('now', { engine: 'postgres', deletionPolicy: 'delete' });
    const obj = await h.create('grow', { definitionRef: { name: 'now' }, clusterRef: { name: 'prod' } });
    const done = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as DatabaseObject;
    const host = done.status.outputs?.host;

    const patched = await h.api.patch<DatabaseObject['spec']>({ kind: 'DatabaseInstance', project: PROJECT, name: 'grow' }, { spec: { storageGb: 40, instanceClass: 'db.t3.small' } });
    const seen: DatabaseObject['status'][] = [];
    const after = (await h.converge(done, appliedAt(patched.metadata.generation), { seen })) as DatabaseObject;
    const modifying = seen.filter((s) => s.step === 'Modifying');
    expect(modifying.length).toBeGreaterThan(0);
    expect(ready(modifying[0])?.message).toMatch(/^applying class db\.t3\.small, storage 40 GiB to RDS instance tugboat-shop-grow now|RDS instance tugboat-shop-grow is modifying/);
    // The outputs stay while it changes: clients keep their connection.
    expect(modifying.every((s) => s.outputs?.host === host)).toBe(true);
    expect(await describe1('tugboat-shop-grow')).toMatchObject({ DBInstanceClass: 'db.t3.small', AllocatedStorage: 40, DBInstanceStatus: 'available' });
    expect(after.status.outputs?.host).toBe(host);

    // A definition change rolls out: backups kept 14 days.
    await h.api.patch({ kind: 'DatabaseDefinition', name: 'now' }, { spec: { backupRetentionDays: 14 } });
    await h.converge(after, (o) => o?.status.phase === 'Ready');
    expect((await describe1('tugboat-shop-grow'))?.BackupRetentionPeriod).toBe(14);
    await h.remove(after);
  });

  it('rotates the master password when spec.passwordRotation changes, once per token, and publishes the new version', async () => {
    await h.definition('rotating', { engine: 'postgres', deletionPolicy: 'delete' });
    // A token given at creation asks for nothing: the password is new anyway.
    const obj = await h.create('keys', { definitionRef: { name: 'rotating' }, clusterRef: { name: 'prod' }, passwordRotation: 'initial' });
    const done = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as DatabaseObject;
    expect(done.status.passwordRotation).toBe('initial');
    const first = done.status.outputs?.passwordVersion ?? '';
    const sha = () => h.sandbox.sandbox.rds.dbInstance(REGION, 'tugboat-shop-keys').passwordSha256;
    const firstSha = sha();

    const patched = await h.api.patch<DatabaseObject['spec']>({ kind: 'DatabaseInstance', project: PROJECT, name: 'keys' }, { spec: { passwordRotation: '2026-12-06' } });
    const seen: DatabaseObject['status'][] = [];
    const rotated = (await h.converge(done, (o) => o?.status.phase === 'Ready' && o.status.observedGeneration === patched.metadata.generation, { seen })) as DatabaseObject;
    const rotating = seen.filter((s) => s.step === 'RotatingPassword');
    expect(rotating.length).toBeGreaterThan(0);
    expect(ready(rotating[0])?.message).toBe('rotating the master password of RDS instance tugboat-shop-keys (passwordRotation 2026-12-06)');
    // Meanwhile the connection stays published, with the old version.
    expect(rotating.every((s) => s.phase === 'Progressing' && s.outputs?.passwordVersion === first)).toBe(true);
    const second = rotated.status.outputs?.passwordVersion ?? '';
    expect(second).not.toBe(first);
    expect(rotated.status.passwordRotation).toBe('2026-12-06');
    const secret = await h.secrets.send(new DescribeSecretCommand({ SecretId: rotated.status.outputs?.secretArn }));
    expect(secret.VersionIdsToStages?.[second]).toContain('AWSCURRENT');
    expect(sha()).not.toBe(firstSha);
    expect(JSON.stringify(seen)).not.toMatch(/"password"/);

    // The same token again asks for nothing.
    const again = (await h.once(rotated)).object as DatabaseObject;
    expect(again.status.outputs?.passwordVersion).toBe(second);
    await h.remove(again);
  });

  it('holds a change for the maintenance window, shows it pending with the window, and reports it applied', async () => {
    // Three hours of simulated time from now: 540 ms at the harness’s time scale, time enough to see the change held.
    const window = windowFromNow(3 * 3_600_000);
    await h.definition('windowed', { engine: 'mysql', deletionPolicy: 'delete', applyChanges: 'maintenanceWindow', maintenanceWindow: window });
    const obj = await h.create('later', { definitionRef: { name: 'windowed' }, clusterRef: { name: 'prod' } });
    const done = (await h.converge(obj, (o) => o?.status.phase === 'Ready')) as DatabaseObject;
    expect((await describe1('tugboat-shop-later'))?.PreferredMaintenanceWindow).toBe(window);

    const patched = await h.api.patch<DatabaseObject['spec']>({ kind: 'DatabaseInstance', project: PROJECT, name: 'later' }, { spec: { storageGb: 30, instanceClass: 'db.t3.medium' } });
    const first = (await h.once(done)).object as DatabaseObject;
    expect(first.status).toMatchObject({ phase: 'Ready', step: 'Ready', pendingChanges: { instanceClass: 'db.t3.medium', storageGb: 30, maintenanceWindow: window } });
    expect(ready(first.status)?.message).toContain(`pending until the maintenance window ${window}: class db.t3.medium, storage 30 GiB`);
    expect(await describe1('tugboat-shop-later')).toMatchObject({ DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, PendingModifiedValues: { DBInstanceClass: 'db.t3.medium', AllocatedStorage: 30 } });

    const applied = (await h.converge(first, appliedAt(patched.metadata.generation))) as DatabaseObject;
    expect(applied.status.pendingChanges).toBeUndefined();
    expect(await describe1('tugboat-shop-later')).toMatchObject({ DBInstanceClass: 'db.t3.medium', AllocatedStorage: 30, DBInstanceStatus: 'available' });
    await h.remove(applied);
  });
});
