/** The shapes of the kinds the support-services-controller reads and reports (after schema validation). */
import type { Resource, ResourceStatus } from '@tugboat/resource-model';
import type { ExposureSpec } from '@tugboat/workloads';

export { EXPOSURE_LABELS, type ExposureSpec } from '@tugboat/workloads';

export interface ChartPin {
  repository?: string;
  chart?: string;
  version?: string;
}

export interface GatewayDefinitionSpec {
  implementation?: 'envoy-gateway';
  chart?: ChartPin;
  certManagerChart?: ChartPin;
}

export interface DomainDefinitionSpec {
  domain: string;
  accountRef: { name: string };
  region?: string;
  hostedZone?: { id?: string; deletionPolicy?: 'retain' | 'delete' };
  acme: { email: string; server?: string; stagingServer?: string };
}

export interface DomainOutputs extends Record<string, unknown> {
  hostedZoneId: string;
  nameServers: string[];
  /** Whether Tugboat created the zone (and may delete it) or adopted it. */
  created: boolean;
}

export type Exposure = Resource<ExposureSpec, ResourceStatus>;
export type Domain = Resource<DomainDefinitionSpec, ResourceStatus>;
export type GatewayDefinition = Resource<GatewayDefinitionSpec, ResourceStatus>;


/** Whether an exposure serves https (the default) or plain http. */
export const tlsEnabled = (spec: ExposureSpec): boolean => spec.tls?.enabled !== false;

/** The exposure's full DNS name: its host under the domain. */
export const fqdnOf = (spec: ExposureSpec, domain: DomainDefinitionSpec): string => `${spec.host}.${domain.domain}`;
