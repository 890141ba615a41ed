import { createAccountCredentials, createEksAccess } from '@tugboat/aws';
import { defineController, dependentsOf, type MapContext } from '@tugboat/controller-sdk';
import type { ClusterConnections } from '@tugboat/kube';
import { SUPPORT_SERVICES_CONTROLLER, type ChangeEvent, type KillPoint, type ResourceKey, type ResourceStatus } from '@tugboat/resource-model';
import type { ChartRenderer } from './components.js';
import { createDomainReconciler } from './reconcile-domain.js';
import { createExposureReconciler } from './reconcile-exposure.js';
import { createObservabilityReconciler } from './reconcile-observability.js';
import type { ObservabilityInstanceSpec } from './observability-stack.js';
import { createSecretReconciler, type SecretInstanceSpec } from './reconcile-secret.js';
import { createSecretStores } from './secret-stores.js';
import { secretsOfWorkload } from './secrets-of-workload.js';
import type { SupportServicesSettings } from './support-services-settings.js';
import type { DomainDefinitionSpec, ExposureSpec } from './support-types.js';

export interface SupportServicesOptions extends SupportServicesSettings {
  connections: ClusterConnections;
  charts: ChartRenderer;
  killPoint?: KillPoint;
  concurrency?: number;
}

/**
 * The support-services-controller's declarations: DomainDefinition (its hosted zone), Exposure
 * (a workload's way in), SecretInstance (where its value lives, and for Secrets Manager the stores
 * on the clusters of the apps that receive it) and ObservabilityInstance (a cluster's metrics and
 * logs; woken also when a workload arrives on or leaves its cluster). An exposure is woken by what it waits on: its domain's status, its
 * cluster's, and a change of its GatewayDefinition; a Ready one looks at its load balancer again
 * every `readyRecheckMs`.
 */
export function createSupportServicesControllers(options: SupportServicesOptions) {
  const credentials = createAccountCredentials({ requestTimeoutMs: options.requestTimeoutMs });
  const eksAccess = createEksAccess();
  const domains = createDomainReconciler({ credentials, requestTimeoutMs: options.requestTimeoutMs, retryMs: options.retryMs, waitMs: options.waitMs, ...(options.killPoint ? { killPoint: options.killPoint } : {}) });
  const exposures = createExposureReconciler({
    connections: options.connections,
    charts: options.charts,
    eksAccess,
    credentials,
    installation: options.installation,
    requestTimeoutMs: options.requestTimeoutMs,
    progressMs: options.progressMs,
    waitMs: options.waitMs,
    readyRecheckMs: options.readyRecheckMs,
    dnsPollMs: options.dnsPollMs,
    dnsWaitMs: options.dnsWaitMs,
    ...(options.killPoint ? { killPoint: options.killPoint } : {}),
  });
  const observability = createObservabilityReconciler({
    connections: options.connections,
    charts: options.charts,
    eksAccess,
    progressMs: options.progressMs,
    waitMs: options.waitMs,
    readyRecheckMs: options.readyRecheckMs,
    ...(options.killPoint ? { killPoint: options.killPoint } : {}),
  });
  const stores = createSecretStores({ connections: options.connections, charts: options.charts, eksAccess, ...(options.killPoint ? { killPoint: options.killPoint } : {}) });
  const secrets = createSecretReconciler({
    credentials,
    stores,
    requestTimeoutMs: options.requestTimeoutMs,
    retryMs: options.retryMs,
    waitMs: options.waitMs,
    progressMs: options.progressMs,
    recheckMs: options.readyRecheckMs,
    ...(options.killPoint ? { killPoint: options.killPoint } : {}),
  });
  return [
    defineController<DomainDefinitionSpec, ResourceStatus>({
      name: SUPPORT_SERVICES_CONTROLLER,
      owns: 'DomainDefinition',
      watches: [{ kind: 'AwsAccount', map: dependentsOf('accountRef') }],
      concurrency: 2,
      reconcile: domains.reconcile,
      finalize: domains.finalize,
    }),
    defineController<ExposureSpec, ResourceStatus>({
      name: SUPPORT_SERVICES_CONTROLLER,
      owns: 'Exposure',
      watches: [
        { kind: 'DomainDefinition', map: dependentsOf('domainRef') },
        { kind: 'ClusterInstance', map: dependentsOf('clusterRef') },
        { kind: 'GatewayDefinition', on: 'spec', map: dependentsOf('gatewayRef') },
      ],
      concurrency: options.concurrency ?? 4,
      reconcile: exposures.reconcile,
      finalize: exposures.finalize,
    }),
    defineController<SecretInstanceSpec, ResourceStatus>({
      name: SUPPORT_SERVICES_CONTROLLER,
      owns: 'SecretInstance',
      watches: [
        { kind: 'SecretDefinition', on: 'spec', map: dependentsOf('definitionRef') },
        // An app that starts or stops receiving a secret (or moves cluster, or goes) changes where its store must be.
        { kind: 'WorkloadInstance', on: 'spec', map: secretsOfWorkload },
      ],
      concurrency: options.concurrency ?? 4,
      reconcile: secrets.reconcile,
      finalize: secrets.finalize,
    }),
    defineController<ObservabilityInstanceSpec, ResourceStatus>({
      name: SUPPORT_SERVICES_CONTROLLER,
      owns: 'ObservabilityInstance',
      watches: [
        { kind: 'ObservabilityDefinition', on: 'spec', map: dependentsOf('definitionRef') },
        { kind: 'ClusterInstance', map: dependentsOf('clusterRef') },
        // A workload arriving on (or leaving) a cluster changes which namespaces' logs are collected there.
        { kind: 'WorkloadInstance', on: 'spec', map: stacksOfWorkloadCluster },
      ],
      concurrency: 2,
      reconcile: observability.reconcile,
      finalize: observability.finalize,
    }),
  ] as const;
}

/** The ObservabilityInstance of the changed workload's cluster (every one when the workload is gone: its cluster is no longer known). */
async function stacksOfWorkloadCluster(event: ChangeEvent, ctx: MapContext): Promise<ResourceKey[]> {
  const workload = await ctx.api.get<{ clusterRef?: { name: string } }>({ kind: event.kind, project: event.project, name: event.name }, { signal: ctx.signal });
  const cluster = workload?.spec.clusterRef?.name;
  const keys: ResourceKey[] = [];
  for await (const stack of ctx.api.listAll<ObservabilityInstanceSpec>('ObservabilityInstance', { signal: ctx.signal })) {
    if (cluster === undefined || stack.spec.clusterRef.name === cluster) keys.push({ kind: 'ObservabilityInstance', project: '', name: stack.metadata.name });
  }
  return keys;
}
