import { createAccountCredentials, createEksAccess } from '@tugboat/aws';
import { defineController, dependentsOf } from '@tugboat/controller-sdk';
import type { ClusterConnections } from '@tugboat/kube';
import { SUPPORT_SERVICES_CONTROLLER, type KillPoint, type ResourceStatus } from '@tugboat/resource-model';
import type { ChartRenderer } from './components.js';
import { createDomainReconciler } from './reconcile-domain.js';
import { createExposureReconciler } from './reconcile-exposure.js';
import { createSecretReconciler, type SecretInstanceSpec } from './reconcile-secret.js';
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
 * (a workload's way in) and SecretInstance (where its value lives). An exposure is woken by what it waits on: its domain's status, its
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
  const secrets = createSecretReconciler({ credentials, requestTimeoutMs: options.requestTimeoutMs, retryMs: options.retryMs, waitMs: options.waitMs, ...(options.killPoint ? { killPoint: options.killPoint } : {}) });
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
      watches: [{ kind: 'SecretDefinition', on: 'spec', map: dependentsOf('definitionRef') }],
      concurrency: options.concurrency ?? 4,
      reconcile: secrets.reconcile,
      finalize: secrets.finalize,
    }),
  ] as const;
}
