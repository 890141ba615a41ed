import { createClusterAccess, createEksAccess, createManagedSecrets, type AwsAccountSpec, type EksAccess, type ManagedSecrets } from '@tugboat/aws';
import type { ReconcileContext, ReconcileResult } from '@tugboat/controller-sdk';
import { isKubeClusterError, KubeClusterError, liveReadiness, type ClusterConnection, type ClusterConnections, type KubernetesObject, type Readiness } from '@tugboat/kube';
import { keyOf, noKillPoint, type Condition, type KillPoint, type Resource, type ResourceStatus } from '@tugboat/resource-model';
import {
  derivedNamespace,
  groupOf,
  instanceLabels,
  LABELS,
  MANAGED_BY,
  defaultSecretMountPath,
  mergeValues,
  renderedViolations,
  renderWorkload,
  WORKLOAD_FIELD_MANAGER,
  withDatabaseConnections,
  withSecrets,
  deliveredSecretName,
  type DatabaseConnection,
  type SecretDelivery,
  type HelmSource,
  type KubeManifest,
  type WorkloadDefinitionSpec,
  type WorkloadInstanceSpec,
} from '@tugboat/workloads';
import type { HelmRenderer } from '@tugboat/helm';
import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import {
  describeEntry,
  identityOf,
  inventoryConfigMap,
  inventoryName,
  INVENTORY_ANNOTATION,
  parseInventory,
  prunable,
  sameInventory,
  widenedInventory,
  type InventoryEntry,
} from './inventory.js';
import { composeExposure, exposureLeaving } from './exposure-composition.js';
import { observabilityOf } from './observability-composition.js';
import { externalSecretWaiting, externalSource } from './external-secret-delivery.js';
import type { ClusterView, ObjectRow, WorkloadStatus } from './workload-types.js';

/** Renders a Helm chart (`@tugboat/helm`'s renderer): what a Helm-chart definition's instances are made of. */
export type ChartRenderer = HelmRenderer;

/** Why an instance's objects could not be rendered: the status reason and the operator's words. */
class RenderProblem extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface WorkloadReconcilerOptions {
  connections: ClusterConnections;
  /** Renders Helm-chart definitions; without one, their instances say that this controller cannot. */
  charts?: ChartRenderer;
  /** EKS tokens for clusters with provider eks (signed with the cluster's AwsAccount credentials). */
  eksAccess?: EksAccess;
  /** Database passwords kept by AWS (RDS-managed, in Secrets Manager). */
  managedSecrets?: ManagedSecrets;
  /** How soon an instance still rolling out is looked at again. Default 2 s. */
  progressingRequeueMs?: number;
  /** How soon a Degraded instance is tried again. Default 5 s. */
  degradedRetryMs?: number;
  /** Fallback look at an instance waiting for its cluster (the ClusterInstance watch wakes it first). Default 30 s. */
  clusterWaitMs?: number;
  /**
   * Within this long after it applied an instance's objects, a reconcile whose desired objects are
   * unchanged reads them instead of applying them again (a Deployment deleted by hand is still seen,
   * and applied again); past it, everything is applied again, which also undoes edits made by hand.
   * Default 150 s: half the default resync, so every resync re-applies.
   */
  reapplyEveryMs?: number;
  /** Test-only crash hook (see workload-kill-points.ts); production passes nothing. */
  killPoint?: KillPoint;
}

type Ctx = ReconcileContext<WorkloadStatus>;
type Instance = Resource<WorkloadInstanceSpec, WorkloadStatus>;
type Cluster = Resource<ClusterView, ResourceStatus>;

const CRD_GROUP = 'apiextensions.k8s.io';
/** Requests one reconcile keeps in flight to its cluster at most (a definition may hold 200 objects). */
const CLUSTER_CALLS_AT_ONCE = 8;

/** `fn` over every item, at most `limit` at a time, results in the items' order; the first failure rejects. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The Endpoints a Service's readiness is read from: a core Service that selects pods (not an
 * ExternalName, not one without a selector, whose endpoints someone else manages).
 */
function endpointsOf(object: KubernetesObject): KubernetesObject | undefined {
  const { name, namespace } = object.metadata ?? {};
  if (object.kind !== 'Service' || groupOf(object.apiVersion ?? '') !== '' || name === undefined || namespace === undefined) return undefined;
  const spec = (object as { spec?: { type?: string; selector?: Record<string, string> } }).spec;
  if (spec?.type === 'ExternalName' || Object.keys(spec?.selector ?? {}).length === 0) return undefined;
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace } };
}

/** Raised after a kill point let nothing through with a recorder instead of a real kill (tests). */
class KilledAtPoint extends Error {}

/** A Ready condition's reason and message on another object, for messages that quote it. */
function readyOf(status: ResourceStatus | undefined): { reason: string; message: string } {
  const ready = status?.conditions?.find((condition) => condition.type === 'Ready');
  return { reason: ready?.reason ?? status?.phase ?? 'Unknown', message: ready?.message ?? '' };
}

function listed(items: readonly string[], limit = 3): string {
  return items.length <= limit ? items.join('; ') : `${items.slice(0, limit).join('; ')}; and ${items.length - limit} more`;
}

export function createWorkloadReconciler(options: WorkloadReconcilerOptions) {
  const eksAccess = options.eksAccess ?? createEksAccess();
  const managedSecrets = options.managedSecrets ?? createManagedSecrets({ credentials: eksAccess.credentials });
  const progressingRequeueMs = options.progressingRequeueMs ?? 2_000;
  const degradedRetryMs = options.degradedRetryMs ?? 5_000;
  const clusterWaitMs = options.clusterWaitMs ?? 30_000;
  const killPoint = options.killPoint ?? noKillPoint;
  const reapplyEveryMs = options.reapplyEveryMs ?? 150_000;
  /** Per instance uid: what this replica last applied and pruned (a hash of the generations and the objects) and when. Lost on restart, which only means one full apply. */
  const lastApplied = new Map<string, { hash: string; at: number }>();
  /** Per definition uid: its manifests parsed, at a generation (one entry per definition, replaced when it changes). */
  const parsedManifests = new Map<string, { generation: number; documents: readonly unknown[] }>();
  const clusterAccess = createClusterAccess({ connections: options.connections, eksAccess });
  /** Per SecretInstance uid: its value at a generation (a new value is a new generation), so a reconcile need not read it again. */
  const secretValues = new Map<string, { generation: number; value: string | undefined }>();

  const pass = (point: string): void => {
    if (killPoint.pass(point, 1) === 0) throw new KilledAtPoint(`killed at ${point}`);
  };

  const namespaceOf = (obj: Instance) => obj.spec.namespace ?? derivedNamespace(obj.metadata.project, obj.metadata.name);
  const labelsOf = (obj: Instance) => instanceLabels({ project: obj.metadata.project, name: obj.metadata.name, uid: obj.metadata.uid });

  /** The cluster's connection: its kubeconfig, or an EKS token from its account (cached per cluster). */
  const connectionOf = (ctx: Ctx, cluster: Cluster): Promise<ClusterConnection> => clusterAccess.connect(ctx.api, cluster, ctx.signal);

  /**
   * The connection of each database the instance names: `waiting` (with the reason and words for
   * the status) until every one is Ready with its outputs; the password read from where AWS keeps
   * it (Secrets Manager), with the database's account's credentials, per password version.
   */
  async function databaseConnections(ctx: Ctx, obj: Instance, running: boolean): Promise<{ connections: DatabaseConnection[] } | { waiting: string; reason: string }> {
    const connections: DatabaseConnection[] = [];
    for (const entry of obj.spec.databases ?? []) {
      const name = entry.ref.name;
      const database = await ctx.api.get<Record<string, unknown>>({ kind: 'DatabaseInstance', project: obj.metadata.project, name }, { signal: ctx.signal });
      if (database === undefined) return { waiting: `DatabaseInstance ${name} does not exist`, reason: 'DatabaseMissing' };
      const outputs = database.status.outputs ?? {};
      // A first start waits for Ready; a running app keeps using a database that is being changed
      // (grown, rotated: Progressing) as long as it publishes its connection.
      const ready = running ? database.metadata.deletionRequestedAt === null : database.status.phase === 'Ready' && database.status.observedGeneration === database.metadata.generation;
      const text = (field: string) => (typeof outputs[field] === 'string' ? (outputs[field] as string) : undefined);
      const [host, secretArn, accountName, region, databaseName, username, engine] = ['host', 'secretArn', 'accountName', 'region', 'databaseName', 'username', 'engine'].map(text);
      const port = outputs['port'];
      if (!ready || !host || !secretArn || !accountName || !region || !databaseName || !username || typeof port !== 'number') {
        const why = readyOf(database.status);
        return { waiting: `DatabaseInstance ${name} is ${database.status.phase ?? 'Pending'} (${why.reason}${why.message ? `: ${why.message}` : ''})`, reason: 'DatabaseNotReady' };
      }
      const accountKey = { kind: 'AwsAccount', name: accountName };
      const account = await ctx.api.get<AwsAccountSpec>(accountKey, { signal: ctx.signal });
      if (account === undefined) return { waiting: `AwsAccount ${accountName} of DatabaseInstance ${name} does not exist`, reason: 'DatabaseNotReady' };
      const passwordVersion = text('passwordVersion') ?? '';
      const password = await managedSecrets.password({
        account: { uid: account.metadata.uid, generation: account.metadata.generation, name: accountName, spec: account.spec },
        readSecrets: (signal) => ctx.api.readSecrets(accountKey, { signal: signal ?? ctx.signal }),
        region,
        secretArn,
        ...(passwordVersion ? { version: passwordVersion } : {}),
        signal: ctx.signal,
      });
      connections.push({ database: name, envPrefix: entry.envPrefix, engine: engine === 'mysql' ? 'mysql' : 'postgres', host, port, databaseName, username, password, passwordVersion });
    }
    return { connections };
  }

  /**
   * The secrets the instance receives: `waiting` (with the reason and words for the status) until
   * each exists with a value; the value read through the API's audited secret route once per
   * generation. Two secrets given as the same environment variable are refused, naming both.
   */
  async function secretDeliveries(ctx: Ctx, obj: Instance): Promise<{ deliveries: SecretDelivery[] } | { waiting: string; reason: string }> {
    const deliveries: SecretDelivery[] = [];
    const envKeys = new Map<string, string>();
    for (const entry of obj.spec.secrets ?? []) {
      const name = entry.ref.name;
      const key = { kind: 'SecretInstance', project: obj.metadata.project, name };
      const secret = await ctx.api.get<{ key: string; value?: string; definitionRef: { name: string } }>(key, { signal: ctx.signal });
      if (secret === undefined || secret.metadata.deletionRequestedAt !== null) return { waiting: `SecretInstance ${name} does not exist`, reason: 'SecretMissing' };
      const as = entry.as ?? 'env';
      if (as === 'env') {
        const other = envKeys.get(secret.spec.key);
        if (other !== undefined) return { waiting: `SecretInstances ${other} and ${name} are both given as environment variable ${secret.spec.key}: give one of them as a file (as: file)`, reason: 'SecretKeyConflict' };
        envKeys.set(secret.spec.key, name);
      }
      const mountPath = entry.mountPath ?? defaultSecretMountPath(name);
      const definitionName = secret.spec.definitionRef.name;
      const definition = await ctx.api.get<{ backend?: string }>({ kind: 'SecretDefinition', name: definitionName }, { signal: ctx.signal });
      if (definition === undefined) return { waiting: `SecretDefinition ${definitionName} of SecretInstance ${name} does not exist`, reason: 'SecretMissing' };
      if (definition.spec.backend === 'aws-secrets-manager') {
        // Never read here: the External Secrets Operator reads it from Secrets Manager, at the version the support-services-controller wrote.
        const external = externalSource(secret, obj.spec.clusterRef.name);
        if ('waiting' in external) return external;
        deliveries.push({ secret: name, key: secret.spec.key, external: external.source, version: external.source.versionId, as, mountPath });
        continue;
      }
      let kept = secretValues.get(secret.metadata.uid);
      if (kept?.generation !== secret.metadata.generation) {
        const value = (await ctx.api.readSecrets(key, { signal: ctx.signal }))['value'];
        kept = { generation: secret.metadata.generation, value: typeof value === 'string' && value !== '' ? value : undefined };
        secretValues.set(secret.metadata.uid, kept);
      }
      if (kept.value === undefined) return { waiting: `SecretInstance ${name} has no value yet: set it with \`tug secret set secretinstance/${name} -p ${obj.metadata.project} --from-file FILE\``, reason: 'SecretValueMissing' };
      deliveries.push({ secret: name, key: secret.spec.key, value: kept.value, version: `${secret.metadata.uid}/${secret.metadata.generation}`, as, mountPath });
    }
    return { deliveries };
  }

  /**
   * A definition's parsed manifests, once per generation: every instance of it renders from them
   * (renderWorkload copies what it changes, so they are shared safely).
   */
  function manifestDocuments(definition: Resource<WorkloadDefinitionSpec>): readonly unknown[] | undefined {
    const manifests = definition.spec.manifests;
    if (manifests === undefined) return undefined;
    const kept = parsedManifests.get(definition.metadata.uid);
    if (kept?.generation === definition.metadata.generation) return kept.documents;
    const documents = parseAllDocuments(manifests).map((document) => {
      if (document.errors.length > 0) throw new Error(`spec.manifests of WorkloadDefinition ${definition.metadata.name}: ${document.errors[0]!.message}`);
      return document.toJSON() as unknown;
    });
    parsedManifests.set(definition.metadata.uid, { generation: definition.metadata.generation, documents });
    return documents;
  }

  /**
   * The definition's objects for this instance: manifests parsed from text the API accepted at
   * write, or a chart rendered with the instance's values (and held to the definition's guardrails,
   * which the API could not judge without rendering it). Throws a RenderProblem in words.
   */
  async function render(ctx: Ctx, obj: Instance, definition: Resource<WorkloadDefinitionSpec>): Promise<KubeManifest[]> {
    let documents: readonly unknown[] | undefined;
    try {
      documents = definition.spec.helm === undefined ? manifestDocuments(definition) : await chartObjects(ctx, obj, definition, definition.spec.helm);
    } catch (error) {
      if (error instanceof RenderProblem || ctx.signal.aborted) throw error;
      const reason = typeof (error as { reason?: unknown }).reason === 'string' ? `Chart${(error as { reason: string }).reason.replace(/^Chart/, '')}` : 'RenderFailed';
      const what = definition.spec.helm === undefined ? 'its manifests' : `chart ${definition.spec.helm.chart} ${definition.spec.helm.version} from ${definition.spec.helm.repository}`;
      throw new RenderProblem(reason, `cannot render ${what} (WorkloadDefinition ${definition.metadata.name}): ${error instanceof Error ? error.message : String(error)}`);
    }
    return renderWorkload({
      project: obj.metadata.project,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      spec: obj.spec,
      definition: definition.spec,
      ...(documents === undefined ? {} : { documents }),
    });
  }

  /** A chart's objects for the instance (release = instance name, in its namespace), within the definition's guardrails. */
  async function chartObjects(ctx: Ctx, obj: Instance, definition: Resource<WorkloadDefinitionSpec>, helm: HelmSource): Promise<readonly KubeManifest[]> {
    if (options.charts === undefined) throw new RenderProblem('ChartsUnsupported', `WorkloadDefinition ${definition.metadata.name} is a Helm chart, and this workload-controller has no helm to render it with`);
    const { objects } = await options.charts.render({
      source: { repository: helm.repository, chart: helm.chart, version: helm.version },
      releaseName: obj.metadata.name,
      namespace: namespaceOf(obj),
      values: mergeValues(helm.values, obj.spec.overrides?.values),
      includeCrds: true,
      signal: ctx.signal,
    });
    const violations = renderedViolations(objects, definition.spec, definition.metadata.name);
    if (violations.length > 0) {
      throw new RenderProblem('GuardrailViolation', `chart ${helm.chart} ${helm.version} renders objects outside WorkloadDefinition ${definition.metadata.name}'s guardrails, so nothing was applied: ${listed(violations.map((v) => `${v.message} (${v.rule})`))}`);
    }
    return objects;
  }

  /**
   * Puts each object in the instance's namespace when its kind is namespaced (and out of any when
   * it is cluster-wide); `undefined` for a kind the cluster does not serve.
   */
  async function place(ctx: Ctx, cluster: ClusterConnection, objects: readonly KubeManifest[], namespace: string): Promise<Array<KubeManifest | { unknown: KubeManifest }>> {
    const placed: Array<KubeManifest | { unknown: KubeManifest }> = [];
    for (const object of objects) {
      const namespaced = await cluster.isNamespaced(object.apiVersion, object.kind, { signal: ctx.signal });
      if (namespaced === undefined) {
        placed.push({ unknown: object });
        continue;
      }
      const { namespace: _ignored, ...metadata } = object.metadata;
      placed.push({ ...object, metadata: namespaced ? { ...metadata, namespace } : metadata });
    }
    return placed;
  }

  /** The objects whose replicas make the pods a Service selects. */
  function isPodController(object: KubernetesObject): boolean {
    return object.apiVersion === 'apps/v1' && (object.kind === 'Deployment' || object.kind === 'StatefulSet');
  }

  /**
   * Another instance's hold on a live object: its `tugboat.dev/instance-uid` label names another
   * uid. Two instances rendering the same cluster-wide object, or the same name in a namespace
   * neither owns (`default`), took it from each other on every apply, and one's delete removed it
   * from under the other.
   */
  function heldByAnother(live: KubernetesObject | undefined, uid: string): string | undefined {
    const labels = live?.metadata?.labels;
    const holder = labels?.[LABELS.instanceUid];
    if (holder === undefined || holder === uid) return undefined;
    const project = labels?.[LABELS.project];
    const name = labels?.[LABELS.instance];
    return project !== undefined && name !== undefined ? `WorkloadInstance ${project}/${name}` : `the instance with uid ${holder}`;
  }

  /** The entries another instance holds, each with who, read from the cluster (a missing object is no one's). */
  async function heldEntries(cluster: ClusterConnection, entries: readonly InventoryEntry[], uid: string, signal: AbortSignal): Promise<Array<{ entry: InventoryEntry; holder: string }>> {
    const read = await mapBounded(entries, CLUSTER_CALLS_AT_ONCE, async (entry) => {
      const live = await cluster.read({ apiVersion: entry.apiVersion, kind: entry.kind, metadata: { name: entry.name, ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }) } }, { signal });
      const holder = heldByAnother(live, uid);
      return holder === undefined ? undefined : { entry, holder };
    });
    return read.filter((found): found is { entry: InventoryEntry; holder: string } => found !== undefined);
  }

  /** `entries` without those another instance holds: what this instance may delete. */
  async function notHeld(cluster: ClusterConnection, entries: readonly InventoryEntry[], uid: string, signal: AbortSignal): Promise<InventoryEntry[]> {
    const held = new Set((await heldEntries(cluster, entries, uid, signal)).map(({ entry }) => describeEntry(entry)));
    return entries.filter((entry) => !held.has(describeEntry(entry)));
  }

  async function reconcile(ctx: Ctx, obj: Instance): Promise<ReconcileResult> {
    const namespace = namespaceOf(obj);
    const clusterName = obj.spec.clusterRef.name;
    const hadApplied = obj.status.definitionGeneration !== undefined;
    // From the read cache (kept current by their change events); both at once on a miss.
    const [definition, cluster] = await Promise.all([
      ctx.cache.get<WorkloadDefinitionSpec>({ kind: 'WorkloadDefinition', name: obj.spec.definitionRef.name }, { signal: ctx.signal }),
      ctx.cache.get<ClusterView>({ kind: 'ClusterInstance', name: clusterName }, { signal: ctx.signal }),
    ]);
    if (definition === undefined) {
      ctx.setStatus({ phase: 'Progressing', reason: 'DefinitionMissing', message: `WorkloadDefinition ${obj.spec.definitionRef.name} does not exist` });
      return { requeueAfterMs: clusterWaitMs };
    }
    // Its way in (or none): the support-services-controller delivers the Exposure and reports its url.
    const exposure = await composeExposure(ctx, obj, namespace);
    if (exposure === 'taken') {
      await ctx.events.record('Warning', 'ExposureTaken', `Exposure ${obj.metadata.name} exists and does not belong to this instance: delete it so this instance's spec.expose can be delivered`).catch(() => undefined);
    } else if (exposure !== 'unchanged' && exposure !== 'none') {
      ctx.logger.info({ exposure }, 'exposure composed');
    }

    if (cluster === undefined || cluster.status.phase !== 'Ready') {
      const why = cluster === undefined ? `ClusterInstance ${clusterName} does not exist` : clusterNotReadyMessage(cluster);
      const clusterReady: Condition = { type: 'ClusterReady', status: 'False', reason: cluster === undefined ? 'ClusterMissing' : readyOf(cluster.status).reason, message: why };
      return clusterUnavailable(ctx, obj, why, clusterReady, hadApplied);
    }
    const clusterReady: Condition = { type: 'ClusterReady', status: 'True', reason: 'ClusterReady', message: `ClusterInstance ${clusterName} is Ready` };

    // The databases it uses: all Ready, with their connections, before anything is applied.
    const databases = await databaseConnections(ctx, obj, hadApplied);
    if ('waiting' in databases) {
      const databasesReady: Condition = { type: 'DatabasesReady', status: 'False', reason: databases.reason, message: databases.waiting };
      if (!hadApplied) {
        ctx.setStatus({
          phase: 'Progressing',
          reason: 'WaitingForDatabase',
          message: `waiting for its databases: ${databases.waiting}`,
          conditions: [clusterReady, databasesReady],
          outputs: { namespace, cluster: clusterName, addresses: [] },
        });
      } else {
        // Running already: its pods keep the connection they have; say why a change waits.
        ctx.setStatus({ phase: 'Degraded', reason: 'DatabaseNotReady', message: databases.waiting, conditions: [clusterReady, databasesReady] });
      }
      return { requeueAfterMs: clusterWaitMs };
    }

    // The secrets it receives: each with its value before anything is applied.
    const secrets = await secretDeliveries(ctx, obj);
    if ('waiting' in secrets) {
      const secretsReady: Condition = { type: 'SecretsReady', status: 'False', reason: secrets.reason, message: secrets.waiting };
      const transient = secrets.reason === 'SecretNotStored' || secrets.reason === 'SecretStoreNotReady';
      if (!hadApplied) {
        ctx.setStatus({ phase: 'Progressing', reason: 'WaitingForSecret', message: `waiting for its secrets: ${secrets.waiting}`, conditions: [clusterReady, secretsReady], outputs: { namespace, cluster: clusterName, addresses: [] } });
      } else {
        // Running already: its pods keep the values they have; say why a change waits (a Secrets Manager write or store on its way is no fault).
        ctx.setStatus({ phase: transient ? 'Progressing' : 'Degraded', reason: secrets.reason, message: secrets.waiting, conditions: [clusterReady, secretsReady] });
      }
      // Nothing wakes it when a Secrets Manager secret's status moves on (it watches their spec): it looks again soon.
      return { requeueAfterMs: transient ? progressingRequeueMs : clusterWaitMs };
    }

    let desired: KubeManifest[];
    try {
      desired = withSecrets(withDatabaseConnections(await render(ctx, obj, definition), databases.connections, labelsOf(obj)), secrets.deliveries, labelsOf(obj));
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      // A chart that cannot be fetched or breaks the guardrails; for manifests, stored data the renderer cannot take (the API judged it at write).
      const { reason, message } =
        error instanceof RenderProblem ? error : { reason: 'RenderFailed', message: `cannot render WorkloadDefinition ${definition.metadata.name} for this instance: ${error instanceof Error ? error.message : String(error)}` };
      ctx.setStatus({ phase: 'Degraded', reason, message, conditions: [clusterReady, { type: 'Applied', status: 'False', reason, message }] });
      return { requeueAfterMs: degradedRetryMs };
    }

    try {
      const connection = await connectionOf(ctx, cluster);
      // Its metrics and logs: a ServiceMonitor beside its objects, and where each stands.
      const observed = await observabilityOf(ctx, obj, definition.spec, connection, namespace);
      const syncFirst = new Map(secrets.deliveries.filter((entry) => entry.external !== undefined).map((entry) => [deliveredSecretName(entry.secret), entry.secret]));
      return await deliver(ctx, obj, connection, { desired: [...desired, ...observed.objects], namespace, clusterName, clusterReady, definition, observability: observed.conditions, syncFirst });
    } catch (error) {
      if (!isKubeClusterError(error) || ctx.signal.aborted) throw error;
      ctx.logger.warn({ reason: error.reason, status: error.status, err: error.message }, 'cluster request failed');
      if (error.reason === 'Other') {
        // One object (or the inventory) refused: name it and what the server said.
        ctx.setStatus({
          phase: 'Degraded',
          reason: 'ApplyFailed',
          message: error.message,
          conditions: [clusterReady, { type: 'Applied', status: 'False', reason: 'ApplyFailed', message: error.message }],
        });
        return { requeueAfterMs: degradedRetryMs };
      }
      const message = `cannot reach ClusterInstance ${clusterName}: ${error.message}`;
      return clusterUnavailable(ctx, obj, message, { type: 'ClusterReady', status: 'False', reason: error.reason, message }, hadApplied);
    }
  }

  function clusterNotReadyMessage(cluster: Cluster): string {
    const { reason, message } = readyOf(cluster.status);
    return `ClusterInstance ${cluster.metadata.name} is ${cluster.status.phase ?? 'Pending'} (${reason}${message ? `: ${message}` : ''})`;
  }

  /** Never applied: still waiting. Applied before: Degraded, objects as last seen, back to Ready by itself. */
  function clusterUnavailable(ctx: Ctx, obj: Instance, message: string, clusterReady: Condition, hadApplied: boolean): ReconcileResult {
    if (!hadApplied) {
      ctx.setStatus({
        phase: 'Progressing',
        reason: 'WaitingForCluster',
        message: `waiting for the cluster: ${message}`,
        conditions: [clusterReady],
        outputs: { namespace: namespaceOf(obj), cluster: obj.spec.clusterRef.name, addresses: [] },
      });
      return { requeueAfterMs: clusterWaitMs };
    }
    ctx.setStatus({ phase: 'Degraded', reason: 'ClusterUnavailable', message: `${message}; the objects are left as they were and are checked again when it returns`, conditions: [clusterReady] });
    return { requeueAfterMs: degradedRetryMs };
  }

  interface Delivery {
    desired: KubeManifest[];
    namespace: string;
    clusterName: string;
    clusterReady: Condition;
    definition: Resource<WorkloadDefinitionSpec>;
    /** `MetricsReady` / `LogsCollected`: reported, never holding the workload's readiness back. */
    observability: Condition[];
    /** ExternalSecrets (by name, with their SecretInstance) whose Secrets must be written before the pods that read them roll. */
    syncFirst: ReadonlyMap<string, string>;
  }

  async function deliver(ctx: Ctx, obj: Instance, cluster: ClusterConnection, delivery: Delivery): Promise<ReconcileResult> {
    const { namespace, clusterName, clusterReady, definition } = delivery;
    const labels = labelsOf(obj);
    const outputs = { namespace, cluster: clusterName, addresses: obj.status.outputs?.addresses ?? [] };
    const fieldManager = WORKLOAD_FIELD_MANAGER;
    const signal = ctx.signal;

    /** Readiness of each object, as the cluster reports it, and the status that says it. */
    const report = async (live: KubernetesObject[], objects: KubeManifest[], prunedNote: string): Promise<ReconcileResult> => {
      const rows: ObjectRow[] = [];
      const failed: string[] = [];
      const waiting: string[] = [];
      let firstFailure: string | undefined;
      // A Service that selects pods is ready when its Endpoints list a ready address. They are read
      // once every other object is ready: until then the instance waits on those anyway, and the
      // pods a Service selects are the ones still starting (one request fewer per reconcile of a rollout).
      const endpoints = live.map(endpointsOf);
      const readinesses: Array<Readiness | undefined> = await mapBounded(live, CLUSTER_CALLS_AT_ONCE, async (object, index) =>
        endpoints[index] === undefined ? readinessOf(ctx, cluster, object, undefined) : undefined,
      );
      if (readinesses.every((readiness) => readiness === undefined || readiness.ready)) {
        // Scaled to zero on purpose (`replicas: 0`): no pod is wanted behind its Services, so none is waited for.
        const scaledToZero = live.some(isPodController) && live.filter(isPodController).every((object) => (object as { spec?: { replicas?: unknown } }).spec?.replicas === 0);
        await mapBounded(live, CLUSTER_CALLS_AT_ONCE, async (object, index) => {
          const identity = endpoints[index];
          if (identity === undefined) return;
          readinesses[index] = scaledToZero
            ? { ready: true, reason: 'ScaledToZero', message: 'no endpoints expected: the workload is scaled to 0 replicas' }
            : await readinessOf(ctx, cluster, object, await cluster.read(identity, { signal }));
        });
      }
      for (const [index, object] of live.entries()) {
        const readiness = readinesses[index] ?? { ready: false, reason: 'NotChecked', message: 'its endpoints are checked once the other objects are ready' };
        const id = identityOf(object);
        rows.push({ ...id, ready: readiness.ready, reason: readiness.reason, message: readiness.message });
        if (readiness.failed) {
          firstFailure ??= readiness.reason;
          failed.push(`${describeEntry(id)}: ${readiness.reason} (${readiness.message})`);
        } else if (!readiness.ready && readinesses[index] !== undefined) {
          waiting.push(`${describeEntry(id)}: ${readiness.message}`);
        }
      }
      const addresses = live.flatMap((object) => serviceAddresses(object));
      const applied: Condition = {
        type: 'Applied',
        status: 'True',
        reason: 'Applied',
        message: `applied ${objects.length} object${objects.length === 1 ? '' : 's'} of WorkloadDefinition ${definition.metadata.name} (generation ${definition.metadata.generation}) to namespace ${namespace}${prunedNote}`,
      };
      const common = {
        conditions: [clusterReady, applied, ...delivery.observability],
        outputs: { namespace, cluster: clusterName, addresses },
        fields: { objects: rows, definitionGeneration: definition.metadata.generation },
      };
      if (failed.length > 0) {
        ctx.setStatus({ ...common, phase: 'Degraded', reason: firstFailure ?? 'ObjectFailed', message: listed(failed) });
        return { requeueAfterMs: degradedRetryMs };
      }
      if (waiting.length > 0) {
        ctx.setStatus({ ...common, phase: 'Progressing', reason: 'RollingOut', message: `waiting for ${listed(waiting)}` });
        return { requeueAfterMs: progressingRequeueMs };
      }
      ctx.setStatus({ ...common, phase: 'Ready', reason: 'Ready', message: `${rows.length}/${rows.length} objects ready in namespace ${namespace} on cluster ${clusterName}` });
      return undefined;
    };

    // The generations tie the entry to what was rendered from: another replica that applied a newer
    // generation in between (even one that renders the same objects again) sends this one down the full path.
    const hashOf = (objects: KubeManifest[]) =>
      createHash('sha256').update(`${obj.metadata.generation}/${definition.metadata.generation}/`).update(JSON.stringify(objects)).digest('hex');

    // Unchanged since this replica applied and pruned them, recently: reading the objects is enough
    // (cheaper for the API server than applying, and the namespace and inventory were settled then).
    // One found missing (deleted by hand) sends the reconcile down the full path below.
    const early = await place(ctx, cluster, delivery.desired, namespace);
    const recent = lastApplied.get(obj.metadata.uid);
    if (recent !== undefined && Date.now() - recent.at < reapplyEveryMs && early.every((object) => !('unknown' in object))) {
      const objects = early as KubeManifest[];
      if (recent.hash === hashOf(objects)) {
        const read = await mapBounded(objects, CLUSTER_CALLS_AT_ONCE, (object) => cluster.read(object as KubernetesObject, { signal }));
        if (read.every((object) => object !== undefined)) return report(read as KubernetesObject[], objects, '');
      }
    }

    // The namespace: created (and then owned) when absent; another instance's is refused; one made by someone else is used as is.
    ctx.assertLeaseHeld();
    const inventoryIdentity: KubernetesObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: inventoryName(obj.metadata.name), namespace } };
    const namespaceOptions = { fieldManager, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.namespaceOwner]: obj.metadata.uid }, signal };
    let ns: KubernetesObject;
    let stored: KubernetesObject | undefined;
    if (obj.status.definitionGeneration === undefined) {
      // Never applied: its namespace is most likely still to be made (created first, one request),
      // and a namespace this call made holds no inventory: read only when it was there already.
      const ensured = await cluster.ensureNamespace(namespace, { ...namespaceOptions, likelyNew: true });
      ns = ensured.namespace;
      stored = ensured.created ? undefined : await cluster.read(inventoryIdentity, { signal });
    } else {
      // Both at once: each is a round trip to the cluster, and neither needs the other's answer.
      [{ namespace: ns }, stored] = await Promise.all([cluster.ensureNamespace(namespace, namespaceOptions), cluster.read(inventoryIdentity, { signal })]);
    }
    const owner = ns.metadata?.labels?.[LABELS.namespaceOwner];
    if (owner !== undefined && owner !== obj.metadata.uid) {
      const message = `namespace ${namespace} on cluster ${clusterName} belongs to another instance (uid ${owner}); set spec.namespace to a namespace of its own`;
      ctx.setStatus({ phase: 'Degraded', reason: 'NamespaceTaken', message, conditions: [clusterReady, { type: 'Applied', status: 'False', reason: 'NamespaceTaken', message }], outputs });
      return { requeueAfterMs: degradedRetryMs };
    }
    if (ns.metadata?.deletionTimestamp !== undefined || (ns as { status?: { phase?: string } }).status?.phase === 'Terminating') {
      const message = `namespace ${namespace} is still terminating; it is created again once it is gone`;
      ctx.setStatus({ phase: 'Progressing', reason: 'NamespaceTerminating', message, conditions: [clusterReady], outputs });
      return { requeueAfterMs: progressingRequeueMs };
    }

    const parsed = parseInventory(stored?.metadata?.annotations?.[INVENTORY_ANNOTATION]);
    if (parsed.problem !== undefined) ctx.logger.warn({ problem: parsed.problem }, 'inventory damaged; keeping the entries that parse');
    let inventory = parsed.entries;
    let inventoryStored = stored !== undefined;
    const writeInventory = async (entries: InventoryEntry[]) => {
      ctx.assertLeaseHeld();
      await cluster.apply(inventoryConfigMap(obj.metadata.name, namespace, labels, entries), { fieldManager, signal });
      inventory = entries;
      inventoryStored = true;
    };
    const widenTo = async (entries: InventoryEntry[]) => {
      const widened = widenedInventory(inventory, entries);
      if (!inventoryStored || !sameInventory(widened, inventory)) await writeInventory(widened);
    };

    let placed = early;
    if (placed.some((object) => 'unknown' in object)) {
      // Custom resources whose definitions come with them: install the CRDs first, then look again.
      const crds = placed.filter((object): object is KubeManifest => !('unknown' in object) && object.kind === 'CustomResourceDefinition' && groupOf(object.apiVersion) === CRD_GROUP);
      if (crds.length > 0) {
        await widenTo(crds.map(identityOf));
        for (const crd of crds) {
          ctx.assertLeaseHeld();
          await cluster.apply(crd, { fieldManager, signal });
        }
        placed = await place(ctx, cluster, delivery.desired, namespace);
      }
      const unknown = placed.filter((object): object is { unknown: KubeManifest } => 'unknown' in object).map(({ unknown: object }) => `${object.kind} (${object.apiVersion})`);
      if (unknown.length > 0) {
        const message = `cluster ${clusterName} does not serve ${listed(unknown)}: install the CustomResourceDefinition (or API) that provides it`;
        ctx.setStatus({ phase: 'Degraded', reason: 'KindNotServed', message, conditions: [clusterReady, { type: 'Applied', status: 'False', reason: 'KindNotServed', message }], outputs });
        return { requeueAfterMs: degradedRetryMs };
      }
    }
    const objects = placed as KubeManifest[];
    const desiredIds = objects.map(identityOf);

    // Nothing another instance holds is taken over: looked at where two instances can meet, i.e. the
    // cluster-wide objects, and everything (the inventory included) in a namespace not its own.
    const ownNamespace = owner === obj.metadata.uid;
    const inventoryHolder = ownNamespace ? undefined : heldByAnother(stored, obj.metadata.uid);
    const held = [
      ...(inventoryHolder === undefined ? [] : [{ entry: identityOf(inventoryIdentity), holder: inventoryHolder }]),
      ...(await heldEntries(cluster, desiredIds.filter((entry) => entry.namespace === undefined || !ownNamespace), obj.metadata.uid, signal)),
    ];
    if (held.length > 0) {
      const message = `${listed(held.map(({ entry, holder }) => `${describeEntry(entry)} belongs to ${holder}`))} on cluster ${clusterName}: left as it is; rename it in WorkloadDefinition ${definition.metadata.name}, or give this instance a namespace of its own (spec.namespace)`;
      ctx.setStatus({ phase: 'Degraded', reason: 'ObjectTaken', message, conditions: [clusterReady, { type: 'Applied', status: 'False', reason: 'ObjectTaken', message }], outputs });
      return { requeueAfterMs: degradedRetryMs };
    }

    // Widen → apply everything (force) → prune → narrow.
    await widenTo(desiredIds);
    // Secrets from Secrets Manager: their ExternalSecrets first, and the rest (the pods, with the new checksum) once the operator wrote them.
    const syncing = await syncExternalSecrets(ctx, cluster, objects, delivery);
    if (syncing !== undefined) {
      const secretsReady: Condition = { type: 'SecretsReady', status: 'False', reason: 'SecretSyncing', message: syncing };
      ctx.setStatus({ phase: 'Progressing', reason: 'WaitingForSecret', message: `waiting for its secrets: ${syncing}`, conditions: [clusterReady, secretsReady], outputs });
      return { requeueAfterMs: progressingRequeueMs };
    }
    // Applied side by side (the inventory already lists them all): a reconcile costs one round trip, not one per object.
    const live = await mapBounded(objects, CLUSTER_CALLS_AT_ONCE, (object) => {
      ctx.assertLeaseHeld();
      return cluster.apply(object as KubernetesObject, { fieldManager, signal });
    });
    pass('workload-after-apply');
    // One another instance has taken since (a shared name) is not this one's to remove.
    const leaving = await notHeld(cluster, prunable(inventory, desiredIds), obj.metadata.uid, signal);
    for (const entry of leaving) {
      pass('workload-mid-prune');
      ctx.assertLeaseHeld();
      await cluster.delete(entry, { signal });
      ctx.logger.info({ object: describeEntry(entry) }, 'pruned an object that left the definition');
    }
    if (!sameInventory(inventory, desiredIds)) await writeInventory(desiredIds);
    // Only now is everything settled (applied, pruned, listed) for the read-only path above.
    lastApplied.set(obj.metadata.uid, { hash: hashOf(objects), at: Date.now() });
    const prunedNote = leaving.length === 0 ? '' : `; pruned ${listed(leaving.map(describeEntry))}`;
    if (leaving.length > 0) {
      await ctx.events.record('Normal', 'Pruned', `removed ${listed(leaving.map(describeEntry), 10)} from cluster ${clusterName}: no longer in WorkloadDefinition ${definition.metadata.name}`).catch((error: unknown) => {
        ctx.logger.warn({ err: String(error) }, 'could not record the Pruned event');
      });
    }

    return report(live, objects, prunedNote);
  }

  /** Applies the ExternalSecrets of `syncFirst` and says which the operator has not written at their pinned version yet. */
  async function syncExternalSecrets(ctx: Ctx, cluster: ClusterConnection, objects: KubeManifest[], delivery: Delivery): Promise<string | undefined> {
    const externals = objects.filter((object) => object.kind === 'ExternalSecret' && delivery.syncFirst.has(object.metadata.name));
    if (externals.length === 0) return undefined;
    const signal = ctx.signal;
    const waiting = await mapBounded(externals, CLUSTER_CALLS_AT_ONCE, async (object) => {
      ctx.assertLeaseHeld();
      const live = await cluster.apply(object as KubernetesObject, { fieldManager: WORKLOAD_FIELD_MANAGER, signal });
      const target = await cluster.read({ apiVersion: 'v1', kind: 'Secret', metadata: { name: object.metadata.name, namespace: delivery.namespace } }, { signal });
      return externalSecretWaiting(live, target, delivery.syncFirst.get(object.metadata.name)!, delivery.clusterName);
    });
    const said = waiting.filter((text): text is string => text !== undefined);
    return said.length === 0 ? undefined : listed(said);
  }

  /** `endpoints`: a Service's Endpoints, read beforehand. */
  function readinessOf(ctx: Ctx, cluster: ClusterConnection, object: KubernetesObject, endpoints: KubernetesObject | undefined): Promise<Readiness> {
    return liveReadiness(cluster, object, { endpoints, signal: ctx.signal });
  }

  async function finalize(ctx: Ctx, obj: Instance): Promise<ReconcileResult> {
    lastApplied.delete(obj.metadata.uid);
    const namespace = namespaceOf(obj);
    const clusterName = obj.spec.clusterRef.name;
    // The way in goes first: its route, certificate and DNS records, before the Service they lead to.
    const exposure = await exposureLeaving(ctx, obj);
    if (exposure !== undefined) {
      const why = exposure.status.conditions?.find((condition) => condition.type === 'Ready')?.message;
      await writeDeletingStatus(ctx, obj, 'WaitingForExposure', `waiting for Exposure ${exposure.metadata.name} to remove its route, certificate and DNS records${why ? ` (${why})` : ''}`);
      return { requeueAfterMs: progressingRequeueMs };
    }
    const cluster = await ctx.api.get<ClusterView>({ kind: 'ClusterInstance', name: clusterName }, { signal: ctx.signal });
    if (cluster === undefined) {
      // References keep a cluster while instances use it; only a forced removal gets here. Nothing left to reach.
      ctx.logger.warn({ cluster: clusterName }, 'cluster gone: nothing to remove from it');
      await ctx.events.record('Warning', 'ClusterGone', `ClusterInstance ${clusterName} no longer exists; objects in namespace ${namespace} were not removed`).catch(() => undefined);
      return undefined;
    }
    try {
      const connection = await connectionOf(ctx, cluster);
      const signal = ctx.signal;
      const inventoryIdentity: KubernetesObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: inventoryName(obj.metadata.name), namespace } };
      const stored = await connection.read(inventoryIdentity, { signal });
      let entries = parseInventory(stored?.metadata?.annotations?.[INVENTORY_ANNOTATION]).entries;
      // What the definition renders now as well: a lost inventory must not leak what is known to be applied.
      const definition = await ctx.api.get<WorkloadDefinitionSpec>({ kind: 'WorkloadDefinition', name: obj.spec.definitionRef.name }, { signal });
      if (definition !== undefined) {
        try {
          const placed = await place(ctx, connection, await render(ctx, obj, definition), namespace);
          entries = widenedInventory(entries, placed.filter((object): object is KubeManifest => !('unknown' in object)).map(identityOf));
        } catch (error) {
          if (isKubeClusterError(error)) throw error;
          ctx.logger.warn({ err: String(error) }, 'cannot render the definition at deletion; removing what the inventory lists');
        }
      }
      // What another instance holds (a shared name it applied since) stays, and is not waited for.
      const ordered = await notHeld(connection, prunable(entries, []), obj.metadata.uid, signal);
      for (const entry of ordered) {
        pass('workload-mid-delete');
        ctx.assertLeaseHeld();
        await connection.delete(entry, { signal });
      }
      const remaining: string[] = [];
      for (const entry of ordered) {
        const found = await connection.read({ apiVersion: entry.apiVersion, kind: entry.kind, metadata: { name: entry.name, ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }) } }, { signal });
        if (found !== undefined) remaining.push(describeEntry(entry));
      }
      if (remaining.length > 0) {
        await writeDeletingStatus(ctx, obj, 'WaitingForObjects', `waiting for ${listed(remaining)} to be gone from cluster ${clusterName}`);
        return { requeueAfterMs: progressingRequeueMs };
      }
      if (stored !== undefined && heldByAnother(stored, obj.metadata.uid) === undefined) {
        ctx.assertLeaseHeld();
        await connection.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: inventoryName(obj.metadata.name) }, { signal });
      }
      const ns = await connection.read<KubernetesObject>({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, { signal });
      if (ns !== undefined && ns.metadata?.labels?.[LABELS.namespaceOwner] === obj.metadata.uid) {
        if (ns.metadata.deletionTimestamp === undefined) {
          ctx.assertLeaseHeld();
          await connection.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace }, { signal });
        }
        if ((await connection.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, { signal })) !== undefined) {
          await writeDeletingStatus(ctx, obj, 'WaitingForNamespace', `waiting for namespace ${namespace} to finish terminating on cluster ${clusterName}`);
          return { requeueAfterMs: progressingRequeueMs };
        }
      }
      return undefined;
    } catch (error) {
      if (!isKubeClusterError(error) || ctx.signal.aborted) throw error;
      if (error.reason === 'InvalidKubeconfig' && obj.status.definitionGeneration === undefined && cluster.status.phase !== 'Ready') {
        // Never applied, and the cluster has no usable connection (an eks cluster still waiting): nothing can be there.
        ctx.logger.info({ cluster: clusterName }, 'never applied to a cluster without a usable kubeconfig: nothing to remove');
        return undefined;
      }
      // Say why deletion waits, then throw: the SDK retries with capped exponential backoff.
      const message = `cannot remove the objects from ClusterInstance ${clusterName} (${error.message}); retrying with backoff — \`tug delete workloadinstance ${obj.metadata.name} -p ${obj.metadata.project} --force\` removes the object without cleaning the cluster`;
      await writeDeletingStatus(ctx, obj, error.reason === 'Other' ? 'DeletionFailed' : 'ClusterUnavailable', message);
      throw new KubeClusterError(message, { reason: error.reason, ...(error.endpoint ? { endpoint: error.endpoint } : {}), cause: error });
    }
  }

  /** The SDK writes `Deleting` once before finalize; why it is not done yet is written here. */
  async function writeDeletingStatus(ctx: Ctx, obj: Instance, reason: string, message: string): Promise<void> {
    const current = await ctx.api.get<WorkloadInstanceSpec, WorkloadStatus>(keyOf(obj), { signal: ctx.signal });
    if (current === undefined) return;
    const now = new Date().toISOString();
    const before = current.status.conditions ?? [];
    const previous = before.find((condition) => condition.type === 'Ready');
    if (previous?.reason === reason && previous.message === message && current.status.phase === 'Deleting') return;
    const ready: Condition = {
      type: 'Ready',
      status: 'False',
      reason,
      message,
      lastTransitionTime: previous?.status === 'False' && previous.lastTransitionTime ? previous.lastTransitionTime : now,
      observedGeneration: current.metadata.generation,
    };
    const status: WorkloadStatus = { ...current.status, phase: 'Deleting', conditions: [ready, ...before.filter((condition) => condition.type !== 'Ready')] };
    try {
      ctx.assertLeaseHeld();
      await ctx.api.writeStatus(keyOf(obj), status, { resourceVersion: current.metadata.resourceVersion, signal: ctx.signal });
    } catch (error) {
      ctx.logger.warn({ err: error }, 'could not write why deletion waits');
    }
  }

  return { reconcile, finalize };
}

/** `name.namespace.svc.cluster.local:port` for each port of a Service. */
function serviceAddresses(object: KubernetesObject): string[] {
  if (object.kind !== 'Service' || object.metadata?.namespace === undefined) return [];
  const spec = (object as { spec?: { type?: string; ports?: Array<{ port?: number }> } }).spec;
  if (spec?.type === 'ExternalName') return [];
  const host = `${object.metadata.name}.${object.metadata.namespace}.svc.cluster.local`;
  return (spec?.ports ?? []).filter((port) => typeof port.port === 'number').map((port) => `${host}:${port.port}`);
}
