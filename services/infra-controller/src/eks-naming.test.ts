import { createEksClusterController } from './eks-controller.js';
import { EKS_KILL_POINTS, eksKillPointFromEnv } from './eks-kill-points.js';
import { minorOf, nodegroupName, requestToken, roleName, subnetPlan } from './eks-naming.js';
import { createAccountController } from './infra-controller.js';

describe('EksCluster naming', () => {
  it('carves one public and one private subnet per zone from the VPC block, the same every time', () => {
    expect(subnetPlan('10.0.0.0/16', ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'])).toEqual([
      { part: 'subnet-public-1', tier: 'public', zone: 'eu-west-1a', cidr: '10.0.0.0/20' },
      { part: 'subnet-private-1', tier: 'private', zone: 'eu-west-1a', cidr: '10.0.128.0/20' },
      { part: 'subnet-public-2', tier: 'public', zone: 'eu-west-1b', cidr: '10.0.16.0/20' },
      { part: 'subnet-private-2', tier: 'private', zone: 'eu-west-1b', cidr: '10.0.144.0/20' },
      { part: 'subnet-public-3', tier: 'public', zone: 'eu-west-1c', cidr: '10.0.32.0/20' },
      { part: 'subnet-private-3', tier: 'private', zone: 'eu-west-1c', cidr: '10.0.160.0/20' },
    ]);
    expect(subnetPlan('172.16.32.0/20', ['a', 'b']).map((s) => s.cidr)).toEqual(['172.16.32.0/24', '172.16.40.0/24', '172.16.33.0/24', '172.16.41.0/24']);
  });

  it('bounds role names to 64 characters, keeping them distinct', () => {
    expect(roleName('shop', 'cluster')).toBe('tugboat-shop-cluster');
    const long = 'a'.repeat(63);
    expect(roleName(long, 'cluster')).toHaveLength(64);
    expect(roleName(long, 'node').length).toBeLessThanOrEqual(64);
    expect(roleName(long, 'cluster')).not.toBe(roleName(`${'a'.repeat(62)}b`, 'cluster'));
  });

  it('names a node group after its entry and instance types (order does not matter), tokens after the uid', () => {
    expect(nodegroupName({ name: 'workers', instanceTypes: ['m5.large', 't3.large'] })).toBe(nodegroupName({ name: 'workers', instanceTypes: ['t3.large', 'm5.large'] }));
    expect(nodegroupName({ name: 'workers', instanceTypes: ['m5.large'] })).not.toBe(nodegroupName({ name: 'workers', instanceTypes: ['m5.xlarge'] }));
    expect(nodegroupName({ name: 'x'.repeat(63), instanceTypes: ['m5.large'] }).length).toBeLessThanOrEqual(63);
    expect(requestToken('uid-1', 'cluster')).toBe(requestToken('uid-1', 'cluster'));
    expect(requestToken('uid-1', 'cluster')).not.toBe(requestToken('uid-2', 'cluster'));
    expect(requestToken('uid-1', 'cluster').length).toBeLessThanOrEqual(64);
    expect([minorOf('1.31'), minorOf('2.0'), minorOf('1.x')]).toEqual([31, undefined, undefined]);
  });
});

describe('infra-controller wiring', () => {
  it('serves AwsAccount and EksCluster under one identity, waking clusters on their account’s status', () => {
    const [account, eks] = [createAccountController(), createEksClusterController()];
    expect([account.name, eks.name]).toEqual(['infra-controller', 'infra-controller']);
    expect([account.owns, eks.owns]).toEqual(['AwsAccount', 'EksCluster']);
    expect(eks.watches.map((w) => [w.kind, w.on ?? 'status'])).toEqual([['AwsAccount', 'status']]);
  });

  it('arms a kill point from the environment only with TUGBOAT_TEST_HOOKS=1 and a known point', () => {
    let killed = 0;
    const kill = () => void (killed += 1);
    expect(eksKillPointFromEnv({}).ignored).toBeUndefined();
    expect(eksKillPointFromEnv({ TUGBOAT_KILL_POINT: 'eks.after-create-vpc' }, kill).ignored).toContain('TUGBOAT_TEST_HOOKS');
    expect(eksKillPointFromEnv({ TUGBOAT_KILL_POINT: 'eks.nowhere', TUGBOAT_TEST_HOOKS: '1' }, kill).ignored).toContain(EKS_KILL_POINTS[0]);
    const { killPoint } = eksKillPointFromEnv({ TUGBOAT_KILL_POINT: 'eks.after-create-subnet', TUGBOAT_KILL_POINT_AFTER: '2', TUGBOAT_TEST_HOOKS: '1' }, kill);
    expect([killPoint.pass('eks.after-create-vpc', 1), killPoint.pass('eks.after-create-subnet', 1), killPoint.pass('eks.after-create-subnet', 1)]).toEqual([1, 1, 1]);
    expect(killed).toBe(0);
    expect(killPoint.pass('eks.after-create-subnet', 1)).toBe(0);
    expect(killed).toBe(1);
  });
});
