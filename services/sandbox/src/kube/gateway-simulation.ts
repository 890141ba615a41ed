/**
 * What Envoy Gateway does once its chart is installed, as far as the API server shows it: accepts
 * GatewayClasses naming its controller, gives each Gateway a LoadBalancer Service in its own
 * namespace (the Service simulation gives that a hostname, which becomes the Gateway's address),
 * and reports listener and HTTPRoute status. Nothing happens until the Gateway API CRDs exist and
 * the `envoy-gateway` Deployment is Available, as with the real controller. Data-plane proxies
 * (the envoy Deployment per Gateway) are not simulated.
 */
import { createHash } from 'node:crypto';
import { deepEqual, isPlainObject, type JsonObject } from './json-values.js';
import type { StoredEvent } from './kube-cluster.js';
import type { KubeObject } from './object-rules.js';
import { storageKeyOf, type ResourceType } from './resource-table.js';
import {
  DEPLOYMENT,
  NAMESPACE,
  SECRET,
  SERVICE,
  at,
  availableDeployment,
  mergeConditions,
  objectsAt,
  type AddOnSimulation,
  type Condition,
  type SimulationRuntime,
} from './simulation-runtime.js';

export const ENVOY_GATEWAY_CONTROLLER = 'gateway.envoyproxy.io/gatewayclass-controller';
export const ENVOY_GATEWAY_DEPLOYMENT = 'envoy-gateway';
export const OWNING_GATEWAY_NAME = 'gateway.envoyproxy.io/owning-gateway-name';
export const OWNING_GATEWAY_NAMESPACE = 'gateway.envoyproxy.io/owning-gateway-namespace';
const GROUP = 'gateway.networking.k8s.io';
const MANAGER = 'envoy-gateway';
const ROUTE_KINDS = [
  { group: GROUP, kind: 'HTTPRoute' },
  { group: GROUP, kind: 'GRPCRoute' },
];

/**
 * Envoy Gateway's name for a Gateway's proxy resources: `envoy-<namespace>-<name>-<hash>`, the
 * namespaced name cut to 48 characters and 8 hex characters of its SHA-256 to keep it unique.
 */
export function envoyServiceName(gatewayNamespace: string, gatewayName: string): string {
  const hash = createHash('sha256').update(`${gatewayNamespace}/${gatewayName}`).digest('hex').slice(0, 8);
  const base = `${gatewayNamespace}-${gatewayName}`.slice(0, 48).replace(/-+$/, '');
  return `envoy-${base}-${hash}`;
}

interface Listener {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  raw: JsonObject;
}

function listenersOf(gateway: KubeObject): Listener[] {
  return objectsAt(gateway, 'spec.listeners').map((raw) => ({
    name: String(raw.name ?? ''),
    port: typeof raw.port === 'number' ? raw.port : 0,
    protocol: String(raw.protocol ?? 'HTTP'),
    ...(typeof raw.hostname === 'string' ? { hostname: raw.hostname } : {}),
    raw,
  }));
}

/** Gateway API hostname matching: `*.example.com` matches any name below example.com (not example.com itself). */
function hostnamesIntersect(listenerHostname: string | undefined, routeHostnames: string[]): boolean {
  if (listenerHostname === undefined || routeHostnames.length === 0) return true;
  const matches = (pattern: string, name: string) => (pattern.startsWith('*.') ? name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1 : pattern === name);
  return routeHostnames.some((route) => route === listenerHostname || matches(listenerHostname, route) || matches(route, listenerHostname));
}

export function createGatewaySimulation(runtime: SimulationRuntime): AddOnSimulation {
  const { cluster, enqueue, recordEvent } = runtime;
  const type = (plural: string): ResourceType | undefined => cluster.registry.forStorageKey(`${GROUP}/${plural}`);
  const now = runtime.now;

  const controllerDeployment = () => availableDeployment(cluster, ENVOY_GATEWAY_DEPLOYMENT);

  function condition(object: KubeObject, type: string, status: Condition['status'], reason: string, message: string): Condition {
    return { type, status, reason, message, observedGeneration: object.metadata.generation ?? 1 };
  }

  function writeStatus(resourceType: ResourceType, object: KubeObject, status: JsonObject): void {
    runtime.writeStatus(resourceType, object, status, MANAGER);
  }

  function classAccepted(className: unknown): boolean {
    const classes = type('gatewayclasses');
    const gatewayClass = classes && typeof className === 'string' ? cluster.get(classes, undefined, className) : undefined;
    return (
      gatewayClass !== undefined &&
      at(gatewayClass, 'spec.controllerName') === ENVOY_GATEWAY_CONTROLLER &&
      objectsAt(gatewayClass, 'status.conditions').some((candidate) => candidate.type === 'Accepted' && candidate.status === 'True')
    );
  }

  function classIsOurs(className: unknown): boolean {
    const classes = type('gatewayclasses');
    const gatewayClass = classes && typeof className === 'string' ? cluster.get(classes, undefined, className) : undefined;
    return gatewayClass !== undefined && at(gatewayClass, 'spec.controllerName') === ENVOY_GATEWAY_CONTROLLER;
  }

  // ---- GatewayClass ------------------------------------------------------------------------

  function reconcileGatewayClass(name: string): void {
    const classes = type('gatewayclasses');
    const gatewayClass = classes && cluster.get(classes, undefined, name);
    if (!classes || !gatewayClass || gatewayClass.metadata.deletionTimestamp) return;
    if (at(gatewayClass, 'spec.controllerName') !== ENVOY_GATEWAY_CONTROLLER || !controllerDeployment()) return;
    const conditions = mergeConditions(at(gatewayClass, 'status.conditions'), [condition(gatewayClass, 'Accepted', 'True', 'Accepted', 'Valid GatewayClass')], now(), false);
    writeStatus(classes, gatewayClass, { ...(isPlainObject(gatewayClass.status) ? gatewayClass.status : {}), conditions });
  }

  // ---- Gateway -----------------------------------------------------------------------------

  function serviceOf(namespace: string, name: string): KubeObject | undefined {
    return cluster
      .scan(SERVICE)
      .find((service) => service.metadata.labels?.[OWNING_GATEWAY_NAME] === name && service.metadata.labels?.[OWNING_GATEWAY_NAMESPACE] === namespace);
  }

  function deleteServicesOf(namespace: string, name: string): void {
    for (const service of cluster.scan(SERVICE).filter((candidate) => candidate.metadata.labels?.[OWNING_GATEWAY_NAME] === name && candidate.metadata.labels?.[OWNING_GATEWAY_NAMESPACE] === namespace)) {
      if (!service.metadata.deletionTimestamp) cluster.delete(SERVICE, service.metadata.namespace, service.metadata.name);
    }
  }

  /** Privileged ports are served by the proxy on port + 10000, as Envoy Gateway maps them. */
  function servicePorts(listeners: Listener[]): JsonObject[] {
    const seen = new Set<string>();
    const ports: JsonObject[] = [];
    for (const listener of listeners) {
      const protocol = listener.protocol === 'UDP' ? 'UDP' : 'TCP';
      if (listener.port <= 0 || seen.has(`${protocol}/${listener.port}`)) continue;
      seen.add(`${protocol}/${listener.port}`);
      ports.push({ name: `${listener.protocol.toLowerCase()}-${listener.port}`, protocol, port: listener.port, targetPort: listener.port < 1024 ? listener.port + 10_000 : listener.port });
    }
    return ports;
  }

  function ensureService(gateway: KubeObject, controllerNamespace: string): KubeObject {
    const namespace = gateway.metadata.namespace as string;
    const name = gateway.metadata.name;
    const labels = {
      'app.kubernetes.io/name': 'envoy',
      'app.kubernetes.io/component': 'proxy',
      'app.kubernetes.io/managed-by': 'envoy-gateway',
      [OWNING_GATEWAY_NAME]: name,
      [OWNING_GATEWAY_NAMESPACE]: namespace,
    };
    const ports = servicePorts(listenersOf(gateway));
    const existing = serviceOf(namespace, name);
    if (existing && existing.metadata.namespace !== controllerNamespace) {
      cluster.delete(SERVICE, existing.metadata.namespace, existing.metadata.name);
    } else if (existing) {
      const current = objectsAt(existing, 'spec.ports').map((port) => ({ name: port.name, protocol: port.protocol, port: port.port, targetPort: port.targetPort }));
      if (!deepEqual(current, ports) && ports.length > 0) {
        return cluster.update(SERVICE, existing.metadata.namespace, existing.metadata.name, { ...existing, spec: { ...(existing.spec as JsonObject), ports } }, { manager: MANAGER });
      }
      return existing;
    }
    const created = cluster.create(
      SERVICE,
      controllerNamespace,
      {
        metadata: { name: envoyServiceName(namespace, name), labels, annotations: {} },
        spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: labels, ports: ports.length > 0 ? ports : [{ name: 'placeholder', port: 1, protocol: 'TCP' }] },
      },
      { manager: MANAGER },
    );
    recordEvent(gateway, 'Normal', 'ServiceCreated', `Created Service ${controllerNamespace}/${created.metadata.name} for the Gateway's proxies`, MANAGER);
    return created;
  }

  function secretProblem(gateway: KubeObject, listener: Listener): { reason: string; message: string } | undefined {
    if (listener.protocol !== 'HTTPS' && listener.protocol !== 'TLS') return undefined;
    if (at(listener.raw, 'tls.mode') === 'Passthrough') return undefined;
    const references = objectsAt(listener.raw, 'tls.certificateRefs');
    if (references.length === 0) return { reason: 'InvalidCertificateRef', message: 'Listener must have at least 1 TLS certificate ref' };
    for (const reference of references) {
      const kind = String(reference.kind ?? 'Secret');
      const group = String(reference.group ?? '');
      if (kind !== 'Secret' || group !== '') return { reason: 'InvalidCertificateRef', message: `Certificate ref to unsupported ${kind} ${String(reference.name)} (only core Secrets are supported).` };
      const namespace = String(reference.namespace ?? gateway.metadata.namespace);
      const name = String(reference.name ?? '');
      if (namespace !== gateway.metadata.namespace && !referenceGranted(gateway.metadata.namespace as string, 'Gateway', namespace, 'Secret', name)) {
        return { reason: 'RefNotPermitted', message: `Certificate ref to secret ${namespace}/${name} not permitted by any ReferenceGrant.` };
      }
      const secret = cluster.get(SECRET, namespace, name);
      if (!secret) return { reason: 'InvalidCertificateRef', message: `Secret ${namespace}/${name} does not exist.` };
      const data = isPlainObject(secret.data) ? secret.data : {};
      if (typeof data['tls.crt'] !== 'string' || typeof data['tls.key'] !== 'string') return { reason: 'InvalidCertificateRef', message: `Secret ${namespace}/${name} must contain tls.crt and tls.key.` };
    }
    return undefined;
  }

  function referenceGranted(fromNamespace: string, fromKind: string, toNamespace: string, toKind: string, toName: string): boolean {
    const grants = cluster.registry.forStorageKey(`${GROUP}/referencegrants`);
    if (!grants) return false;
    return cluster.scan(grants, toNamespace).some(
      (grant) =>
        objectsAt(grant, 'spec.from').some((from) => from.group === GROUP && from.kind === fromKind && from.namespace === fromNamespace) &&
        objectsAt(grant, 'spec.to').some((to) => (to.group ?? '') === '' && to.kind === toKind && (to.name === undefined || to.name === toName)),
    );
  }

  function reconcileGateway(namespace: string, name: string): void {
    const gateways = type('gateways');
    const gateway = gateways && cluster.get(gateways, namespace, name);
    if (!gateways || !gateway || gateway.metadata.deletionTimestamp) {
      deleteServicesOf(namespace, name);
      return;
    }
    const className = at(gateway, 'spec.gatewayClassName');
    if (!classIsOurs(className)) return;
    const deployment = controllerDeployment();
    if (!deployment || !classAccepted(className)) {
      // The Gateway CRD's own status default: what a Gateway shows before any controller saw it.
      if (objectsAt(gateway, 'status.conditions').length > 0) return;
      const waiting = [condition(gateway, 'Accepted', 'Unknown', 'Pending', 'Waiting for controller'), condition(gateway, 'Programmed', 'Unknown', 'Pending', 'Waiting for controller')];
      writeStatus(gateways, gateway, { conditions: mergeConditions(undefined, waiting, now(), false) });
      return;
    }
    const service = ensureService(gateway, deployment.metadata.namespace as string);
    const ingress = objectsAt(service, 'status.loadBalancer.ingress')[0];
    const addresses =
      typeof ingress?.hostname === 'string' ? [{ type: 'Hostname', value: ingress.hostname }] : typeof ingress?.ip === 'string' ? [{ type: 'IPAddress', value: ingress.ip }] : [];
    const routes = attachedRoutes(gateway);
    const listeners = listenersOf(gateway).map((listener) => {
      const problem = secretProblem(gateway, listener);
      const previous = objectsAt(gateway, 'status.listeners').find((candidate) => candidate.name === listener.name);
      const conditions: Condition[] = problem
        ? [
            condition(gateway, 'Programmed', 'False', 'Invalid', 'Listener is invalid, see other Conditions for details.'),
            condition(gateway, 'Accepted', 'True', 'Accepted', 'Listener has been successfully translated'),
            condition(gateway, 'ResolvedRefs', 'False', problem.reason, problem.message),
          ]
        : [
            condition(gateway, 'Programmed', 'True', 'Programmed', 'Sending translated listener configuration to the data plane'),
            condition(gateway, 'Accepted', 'True', 'Accepted', 'Listener has been successfully translated'),
            condition(gateway, 'ResolvedRefs', 'True', 'ResolvedRefs', 'Listener has been successfully translated'),
          ];
      const supportedKinds = listener.protocol === 'HTTP' || listener.protocol === 'HTTPS' ? ROUTE_KINDS : listener.protocol === 'TLS' ? [{ group: GROUP, kind: 'TLSRoute' }] : [{ group: GROUP, kind: `${listener.protocol}Route` }];
      return { name: listener.name, supportedKinds, attachedRoutes: routes.get(listener.name) ?? 0, conditions: mergeConditions(previous?.conditions, conditions, now(), false) };
    });
    const conditions = [
      condition(gateway, 'Accepted', 'True', 'Accepted', 'The Gateway has been scheduled by Envoy Gateway'),
      addresses.length > 0
        ? condition(gateway, 'Programmed', 'True', 'Programmed', 'Address assigned to the Gateway')
        : condition(gateway, 'Programmed', 'False', 'AddressNotAssigned', 'No addresses have been assigned to the Gateway'),
    ];
    const wasProgrammed = objectsAt(gateway, 'status.conditions').some((candidate) => candidate.type === 'Programmed' && candidate.status === 'True');
    const status = { ...(addresses.length > 0 ? { addresses } : {}), conditions: mergeConditions(at(gateway, 'status.conditions'), conditions, now(), false), listeners };
    writeStatus(gateways, gateway, status);
    if (addresses.length > 0 && !wasProgrammed) recordEvent(gateway, 'Normal', 'Programmed', `Address ${String(addresses[0]?.value)} assigned to the Gateway`, MANAGER);
  }

  // ---- HTTPRoute ---------------------------------------------------------------------------

  interface ParentVerdict {
    accepted: { status: 'True' | 'False'; reason: string; message: string };
    /** Listener names the route attaches to. */
    listeners: string[];
  }

  function namespaceAllowed(listener: Listener, gatewayNamespace: string, routeNamespace: string): boolean {
    const from = String(at(listener.raw, 'allowedRoutes.namespaces.from') ?? 'Same');
    if (from === 'All') return true;
    if (from === 'Same') return routeNamespace === gatewayNamespace;
    const selector = at(listener.raw, 'allowedRoutes.namespaces.selector.matchLabels');
    const labels = cluster.get(NAMESPACE, undefined, routeNamespace)?.metadata.labels ?? {};
    return isPlainObject(selector) && Object.entries(selector).every(([key, value]) => labels[key] === value);
  }

  function kindAllowed(listener: Listener): boolean {
    const kinds = objectsAt(listener.raw, 'allowedRoutes.kinds');
    if (kinds.length > 0) return kinds.some((kind) => kind.kind === 'HTTPRoute' && (kind.group ?? GROUP) === GROUP);
    return listener.protocol === 'HTTP' || listener.protocol === 'HTTPS';
  }

  function judgeParent(route: KubeObject, parentRef: JsonObject, gateway: KubeObject): ParentVerdict {
    const routeNamespace = route.metadata.namespace as string;
    const hostnames = (Array.isArray(at(route, 'spec.hostnames')) ? (at(route, 'spec.hostnames') as unknown[]) : []).filter((value): value is string => typeof value === 'string');
    const named = listenersOf(gateway).filter(
      (listener) => (parentRef.sectionName === undefined || parentRef.sectionName === listener.name) && (parentRef.port === undefined || parentRef.port === listener.port),
    );
    const allowed = named.filter((listener) => kindAllowed(listener) && namespaceAllowed(listener, gateway.metadata.namespace as string, routeNamespace));
    if (allowed.length === 0) {
      return { accepted: { status: 'False', reason: 'NotAllowedByListeners', message: 'No listeners included by this parent ref allowed this attachment.' }, listeners: [] };
    }
    const matching = allowed.filter((listener) => hostnamesIntersect(listener.hostname, hostnames));
    if (matching.length === 0) {
      return {
        accepted: { status: 'False', reason: 'NoMatchingListenerHostname', message: "There were no hostname intersections between the HTTPRoute and this parent ref's Listener(s)." },
        listeners: [],
      };
    }
    return { accepted: { status: 'True', reason: 'Accepted', message: 'Route is accepted' }, listeners: matching.map((listener) => listener.name) };
  }

  /** The Gateways (of an accepted class of ours) a route's parentRefs name, with the parentRef as written. */
  function parentsOf(route: KubeObject): Array<{ parentRef: JsonObject; gateway: KubeObject }> {
    const gateways = type('gateways');
    if (!gateways) return [];
    const parents: Array<{ parentRef: JsonObject; gateway: KubeObject }> = [];
    for (const parentRef of objectsAt(route, 'spec.parentRefs')) {
      if ((parentRef.group ?? GROUP) !== GROUP || (parentRef.kind ?? 'Gateway') !== 'Gateway') continue;
      const gateway = cluster.get(gateways, String(parentRef.namespace ?? route.metadata.namespace), String(parentRef.name ?? ''));
      if (gateway && !gateway.metadata.deletionTimestamp && classAccepted(at(gateway, 'spec.gatewayClassName'))) parents.push({ parentRef, gateway });
    }
    return parents;
  }

  /** How many routes each listener of a Gateway has accepted, for its listener status. */
  function attachedRoutes(gateway: KubeObject): Map<string, number> {
    const counts = new Map<string, number>();
    const routes = type('httproutes');
    if (!routes) return counts;
    for (const route of cluster.scan(routes)) {
      if (route.metadata.deletionTimestamp) continue;
      for (const parent of parentsOf(route)) {
        if (parent.gateway.metadata.uid !== gateway.metadata.uid) continue;
        for (const listener of judgeParent(route, parent.parentRef, gateway).listeners) counts.set(listener, (counts.get(listener) ?? 0) + 1);
      }
    }
    return counts;
  }

  function backendProblem(route: KubeObject): { reason: string; message: string } | undefined {
    const rules = objectsAt(route, 'spec.rules');
    for (const [ruleIndex, rule] of rules.entries()) {
      for (const [refIndex, backend] of objectsAt(rule, 'backendRefs').entries()) {
        const where = `Failed to process route rule ${ruleIndex} backendRef ${refIndex}`;
        const kind = String(backend.kind ?? 'Service');
        if ((backend.group ?? '') !== '' || kind !== 'Service') return { reason: 'InvalidKind', message: `${where}: Kind is invalid, only Service and MCS ServiceImport are supported.` };
        const namespace = String(backend.namespace ?? route.metadata.namespace);
        const name = String(backend.name ?? '');
        if (namespace !== route.metadata.namespace && !referenceGranted(route.metadata.namespace as string, 'HTTPRoute', namespace, 'Service', name)) {
          return { reason: 'RefNotPermitted', message: `${where}: Backend ref to Service ${namespace}/${name} not permitted by any ReferenceGrant.` };
        }
        const service = cluster.get(SERVICE, namespace, name);
        if (!service || service.metadata.deletionTimestamp) return { reason: 'BackendNotFound', message: `${where}: service ${namespace}/${name} not found.` };
        if (typeof backend.port !== 'number') return { reason: 'BackendNotFound', message: `${where}: A valid port number corresponding to a port on the Service must be specified.` };
        if (!objectsAt(service, 'spec.ports').some((port) => port.port === backend.port)) {
          return { reason: 'BackendNotFound', message: `${where}: port ${backend.port} not found on service ${namespace}/${name}.` };
        }
      }
    }
    return undefined;
  }

  function reconcileRoute(namespace: string, name: string): void {
    const routes = type('httproutes');
    const route = routes && cluster.get(routes, namespace, name);
    if (!routes || !route || route.metadata.deletionTimestamp || !controllerDeployment()) return;
    const previous = objectsAt(route, 'status.parents');
    const others = previous.filter((parent) => parent.controllerName !== ENVOY_GATEWAY_CONTROLLER);
    const backends = backendProblem(route);
    const ours = parentsOf(route).map(({ parentRef, gateway }) => {
      const verdict = judgeParent(route, parentRef, gateway);
      const before = previous.find((parent) => parent.controllerName === ENVOY_GATEWAY_CONTROLLER && deepEqual(parent.parentRef, parentRef));
      const conditions = [
        condition(route, 'Accepted', verdict.accepted.status, verdict.accepted.reason, verdict.accepted.message),
        backends ? condition(route, 'ResolvedRefs', 'False', backends.reason, backends.message) : condition(route, 'ResolvedRefs', 'True', 'ResolvedRefs', 'Resolved all the Object references for the Route'),
      ];
      return { parentRef, controllerName: ENVOY_GATEWAY_CONTROLLER, conditions: mergeConditions(before?.conditions, conditions, now(), false) };
    });
    if (ours.length === 0 && !previous.some((parent) => parent.controllerName === ENVOY_GATEWAY_CONTROLLER)) return;
    writeStatus(routes, route, { ...(isPlainObject(route.status) ? route.status : {}), parents: [...others, ...ours] });
  }

  // ---- Routing of change events ------------------------------------------------------------

  function enqueueClass(name: string): void {
    enqueue(`envoy-gateway|class|${name}`, () => reconcileGatewayClass(name));
  }
  function enqueueGateway(namespace: string, name: string): void {
    enqueue(`envoy-gateway|gateway|${namespace}/${name}`, () => reconcileGateway(namespace, name));
  }
  function enqueueRoute(namespace: string, name: string): void {
    enqueue(`envoy-gateway|route|${namespace}/${name}`, () => reconcileRoute(namespace, name));
  }
  function enqueueAll(plural: string, work: (namespace: string, name: string) => void): void {
    const resourceType = type(plural);
    if (resourceType) for (const object of cluster.scan(resourceType)) work(object.metadata.namespace ?? '', object.metadata.name);
  }
  function resyncAll(): void {
    enqueueAll('gatewayclasses', (_namespace, name) => enqueueClass(name));
    enqueueAll('gateways', enqueueGateway);
    enqueueAll('httproutes', enqueueRoute);
  }

  function onEvent(event: StoredEvent): void {
    const { object, storageKey } = event;
    const namespace = object.metadata.namespace ?? '';
    switch (storageKey) {
      case `${GROUP}/gatewayclasses`:
        enqueueClass(object.metadata.name);
        enqueueAll('gateways', enqueueGateway);
        enqueueAll('httproutes', enqueueRoute);
        return;
      case `${GROUP}/gateways`:
        enqueueGateway(namespace, object.metadata.name);
        enqueueAll('httproutes', enqueueRoute);
        return;
      case `${GROUP}/httproutes`:
        enqueueRoute(namespace, object.metadata.name);
        for (const parentRef of objectsAt(object, 'spec.parentRefs')) enqueueGateway(String(parentRef.namespace ?? namespace), String(parentRef.name ?? ''));
        return;
      case `${GROUP}/referencegrants`:
        resyncAll();
        return;
      case storageKeyOf(SERVICE): {
        const owner = object.metadata.labels?.[OWNING_GATEWAY_NAME];
        const ownerNamespace = object.metadata.labels?.[OWNING_GATEWAY_NAMESPACE];
        if (owner !== undefined && ownerNamespace !== undefined) enqueueGateway(ownerNamespace, owner);
        const routes = type('httproutes');
        if (routes) for (const route of cluster.scan(routes)) enqueueRoute(route.metadata.namespace ?? '', route.metadata.name);
        return;
      }
      case storageKeyOf(SECRET):
        enqueueAll('gateways', enqueueGateway);
        return;
      case storageKeyOf(DEPLOYMENT):
        if (object.metadata.name === ENVOY_GATEWAY_DEPLOYMENT) resyncAll();
        return;
      case 'apiextensions.k8s.io/customresourcedefinitions':
        if (String(at(object, 'spec.group')) === GROUP) resyncAll();
        return;
      default:
    }
  }

  return { onEvent, resyncAll };
}
