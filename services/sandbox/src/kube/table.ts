/** Server-side printing: the `Table` kubectl asks for (`Accept: application/json;as=Table;…`). */
import { isPlainObject, type JsonObject } from './json-values.js';
import type { KubeObject } from './object-rules.js';
import type { ResourceType } from './resource-table.js';

interface Column {
  name: string;
  type?: 'string' | 'integer' | 'date';
  priority?: number;
  cell: (object: KubeObject, now: number) => unknown;
}

function at(object: unknown, path: string): unknown {
  let current = object;
  for (const part of path.split('.')) current = isPlainObject(current) ? current[part] : undefined;
  return current;
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

/** `45s`, `3m12s`, `5h`, `2d` — kubectl's short duration. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60 === 0 ? '' : `${seconds % 60}s`}`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

const age: Column = { name: 'Age', cell: (object, now) => humanDuration(now - Date.parse(object.metadata.creationTimestamp)) };

function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const statuses = at(pod, 'status.containerStatuses');
  if (Array.isArray(statuses)) {
    for (const status of statuses) {
      const reason = at(status, 'state.waiting.reason') ?? at(status, 'state.terminated.reason');
      if (typeof reason === 'string' && reason !== '' && at(status, 'ready') !== true) return reason;
    }
  }
  return String(at(pod, 'status.phase') ?? 'Pending');
}

function conditionTrue(object: KubeObject, type: string): boolean {
  const conditions = at(object, 'status.conditions');
  return Array.isArray(conditions) && conditions.some((condition) => isPlainObject(condition) && condition.type === type && condition.status === 'True');
}

function servicePorts(service: KubeObject): string {
  const ports = at(service, 'spec.ports');
  if (!Array.isArray(ports) || ports.length === 0) return '<none>';
  return ports
    .filter(isPlainObject)
    .map((port) => `${String(port.port)}${port.nodePort ? `:${String(port.nodePort)}` : ''}/${String(port.protocol ?? 'TCP')}`)
    .join(',');
}

function externalIp(service: KubeObject): string {
  const ingress = at(service, 'status.loadBalancer.ingress');
  if (Array.isArray(ingress) && ingress.length > 0) return ingress.filter(isPlainObject).map((entry) => String(entry.hostname ?? entry.ip)).join(',');
  return at(service, 'spec.type') === 'LoadBalancer' ? '<pending>' : '<none>';
}

const COLUMNS: Record<string, Column[]> = {
  '/Pod': [
    {
      name: 'Ready',
      cell: (pod) => {
        const statuses = at(pod, 'status.containerStatuses');
        const containers = at(pod, 'spec.containers');
        const total = Array.isArray(containers) ? containers.length : 0;
        const ready = Array.isArray(statuses) ? statuses.filter((status) => at(status, 'ready') === true).length : 0;
        return `${ready}/${total}`;
      },
    },
    { name: 'Status', cell: podStatus },
    {
      name: 'Restarts',
      type: 'integer',
      cell: (pod) => {
        const statuses = at(pod, 'status.containerStatuses');
        return Array.isArray(statuses) ? statuses.reduce((total: number, status) => total + num(at(status, 'restartCount')), 0) : 0;
      },
    },
    age,
    { name: 'IP', priority: 1, cell: (pod) => at(pod, 'status.podIP') ?? '<none>' },
    { name: 'Node', priority: 1, cell: (pod) => at(pod, 'spec.nodeName') ?? '<none>' },
  ],
  'apps/Deployment': [
    { name: 'Ready', cell: (object) => `${num(at(object, 'status.readyReplicas'))}/${num(at(object, 'spec.replicas'))}` },
    { name: 'Up-to-date', type: 'integer', cell: (object) => num(at(object, 'status.updatedReplicas')) },
    { name: 'Available', type: 'integer', cell: (object) => num(at(object, 'status.availableReplicas')) },
    age,
  ],
  'apps/ReplicaSet': [
    { name: 'Desired', type: 'integer', cell: (object) => num(at(object, 'spec.replicas')) },
    { name: 'Current', type: 'integer', cell: (object) => num(at(object, 'status.replicas')) },
    { name: 'Ready', type: 'integer', cell: (object) => num(at(object, 'status.readyReplicas')) },
    age,
  ],
  'apps/StatefulSet': [{ name: 'Ready', cell: (object) => `${num(at(object, 'status.readyReplicas'))}/${num(at(object, 'spec.replicas'))}` }, age],
  'apps/DaemonSet': [
    { name: 'Desired', type: 'integer', cell: (object) => num(at(object, 'status.desiredNumberScheduled')) },
    { name: 'Current', type: 'integer', cell: (object) => num(at(object, 'status.currentNumberScheduled')) },
    { name: 'Ready', type: 'integer', cell: (object) => num(at(object, 'status.numberReady')) },
    { name: 'Up-to-date', type: 'integer', cell: (object) => num(at(object, 'status.updatedNumberScheduled')) },
    { name: 'Available', type: 'integer', cell: (object) => num(at(object, 'status.numberAvailable')) },
    age,
  ],
  'batch/Job': [
    { name: 'Status', cell: (object) => (conditionTrue(object, 'Complete') ? 'Complete' : conditionTrue(object, 'Failed') ? 'Failed' : 'Running') },
    { name: 'Completions', cell: (object) => `${num(at(object, 'status.succeeded'))}/${num(at(object, 'spec.completions'))}` },
    age,
  ],
  '/Service': [
    { name: 'Type', cell: (object) => at(object, 'spec.type') ?? 'ClusterIP' },
    { name: 'Cluster-IP', cell: (object) => at(object, 'spec.clusterIP') ?? '<none>' },
    { name: 'External-IP', cell: externalIp },
    { name: 'Port(s)', cell: servicePorts },
    age,
  ],
  '/Namespace': [{ name: 'Status', cell: (object) => at(object, 'status.phase') ?? 'Active' }, age],
  '/Node': [
    { name: 'Status', cell: (object) => (conditionTrue(object, 'Ready') ? 'Ready' : 'NotReady') },
    { name: 'Roles', cell: () => '<none>' },
    age,
    { name: 'Version', cell: (object) => at(object, 'status.nodeInfo.kubeletVersion') ?? '' },
  ],
  '/ConfigMap': [{ name: 'Data', type: 'integer', cell: (object) => Object.keys(isPlainObject(object.data) ? object.data : {}).length }, age],
  '/Secret': [
    { name: 'Type', cell: (object) => object.type ?? 'Opaque' },
    { name: 'Data', type: 'integer', cell: (object) => Object.keys(isPlainObject(object.data) ? object.data : {}).length },
    age,
  ],
  '/Event': [
    { name: 'Last Seen', cell: (object, now) => humanDuration(now - Date.parse(String(object.lastTimestamp ?? object.metadata.creationTimestamp))) },
    { name: 'Type', cell: (object) => object.type ?? '' },
    { name: 'Reason', cell: (object) => object.reason ?? '' },
    { name: 'Object', cell: (object) => `${String(at(object, 'involvedObject.kind') ?? '').toLowerCase()}/${String(at(object, 'involvedObject.name') ?? '')}` },
    { name: 'Message', cell: (object) => object.message ?? '' },
  ],
  'apiextensions.k8s.io/CustomResourceDefinition': [{ name: 'Created At', cell: (object) => object.metadata.creationTimestamp }],
};

/** The subset of JSONPath CRD printer columns use: `.a.b`, `[0]`, `[?(@.type=="Ready")]`. */
export function evaluateJsonPath(object: unknown, path: string): unknown {
  const tokens = path.match(/\.[^.[\]]+|\[\d+\]|\[\?\(@\.[^)]*\)\]/g) ?? [];
  let current: unknown = object;
  for (const token of tokens) {
    if (current === undefined || current === null) return undefined;
    if (token.startsWith('.')) {
      current = isPlainObject(current) ? current[token.slice(1)] : undefined;
    } else if (token.startsWith('[?')) {
      const filter = /^\[\?\(@\.([^=!]+?)\s*==\s*["']([^"']*)["']\)\]$/.exec(token);
      if (!filter || !Array.isArray(current)) return undefined;
      const [, field = '', value] = filter;
      current = current.find((item) => String(evaluateJsonPath(item, `.${field}`)) === value);
    } else {
      current = Array.isArray(current) ? current[Number(token.slice(1, -1))] : undefined;
    }
  }
  return current;
}

/** `additionalPrinterColumns` of a CRD version, for its custom resources. */
export interface PrinterColumn {
  name: string;
  type?: string;
  jsonPath: string;
  priority?: number;
}

function printerColumns(columns: PrinterColumn[]): Column[] {
  return columns.map((column) => ({
    name: column.name,
    type: column.type === 'integer' ? 'integer' : 'string',
    priority: column.priority ?? 0,
    cell: (object, now) => {
      const value = evaluateJsonPath(object, column.jsonPath);
      if (column.type === 'date' && typeof value === 'string') return humanDuration(now - Date.parse(value));
      if (value === undefined || value === null) return '';
      return typeof value === 'object' ? JSON.stringify(value) : value;
    },
  }));
}

export function renderTable(
  type: ResourceType,
  objects: KubeObject[],
  options: { resourceVersion: string; includeObject: boolean; continueToken?: string | undefined; now: number; printerColumns?: PrinterColumn[] | undefined },
) {
  const specific = options.printerColumns && options.printerColumns.length > 0 ? printerColumns(options.printerColumns) : (COLUMNS[`${type.group}/${type.kind}`] ?? [age]);
  const columns: Column[] = [{ name: 'Name', cell: (object) => object.metadata.name }, ...specific];
  const metadata: JsonObject = { resourceVersion: options.resourceVersion };
  if (options.continueToken) metadata.continue = options.continueToken;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: columns.map((column) => ({
      name: column.name,
      type: column.type ?? 'string',
      format: column.name === 'Name' ? 'name' : '',
      description: column.name,
      priority: column.priority ?? 0,
    })),
    rows: objects.map((object) => ({
      cells: columns.map((column) => column.cell(object, options.now)),
      object: options.includeObject ? object : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}
