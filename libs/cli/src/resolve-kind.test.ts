import { BUILTIN_KINDS } from '@tugboat/resource-model';
import { findKind, resolveKind } from './resolve-kind.js';

describe('resolveKind', () => {
  it.each(['WorkloadInstance', 'workloadinstance', 'workloadinstances', 'wi', 'app', 'APP', 'WorkloadInstances', 'apps', 'wis'])('resolves %s', (name) => {
    expect(resolveKind(BUILTIN_KINDS, name).kind).toBe('WorkloadInstance');
  });

  it('lists the known kinds, with their plural and short names, when the name is unknown', () => {
    expect(findKind(BUILTIN_KINDS, 'gizmo')).toBeUndefined();
    expect(findKind(BUILTIN_KINDS, 'clusters')?.kind).toBe('ClusterInstance');
    expect(() => resolveKind(BUILTIN_KINDS, 'gizmo')).toThrow(
      'unknown kind "gizmo"; the API knows: Application (applications), AwsAccount (awsaccounts, aws), ClusterDefinition (clusterdefinitions, cd), ' +
        'ClusterInstance (clusterinstances, ci, cluster), DatabaseDefinition (databasedefinitions, dbd), DatabaseInstance (databaseinstances, db), DeliveryPolicy (deliverypolicies, dp), DomainDefinition (domaindefinitions, domain), EksCluster (eksclusters, eks), Exposure (exposures, expo), GatewayDefinition (gatewaydefinitions, gateway, gwd), ObservabilityDefinition (observabilitydefinitions, obsdef), ObservabilityInstance (observabilityinstances, obs), Project (projects, proj), Release (releases, rel), Rollout (rollouts, ro), SecretDefinition (secretdefinitions, secretdef), SecretInstance (secretinstances, secret), WorkloadDefinition (workloaddefinitions, wd), WorkloadInstance (workloadinstances, wi, app)',
    );
  });
});
