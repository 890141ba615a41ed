/**
 * The kinds that ship with the API, with their first schemas. Later issues extend the schemas;
 * the names (kind, plural, controller) are what the CLI, the SDK and the controllers import.
 *
 * Every schema sets `additionalProperties: false` on every object so an unknown field is an error.
 */
import type { KindDefinition } from './kind-definition.js';

export const INFRA_CONTROLLER = 'infra-controller';
export const CLUSTER_CONTROLLER = 'cluster-controller';
export const WORKLOAD_CONTROLLER = 'workload-controller';
export const MANAGED_SERVICES_CONTROLLER = 'managed-services-controller';
export const SUPPORT_SERVICES_CONTROLLER = 'support-services-controller';
/** The API keeps `Project` objects itself: no controller reconciles them. */
export const API_OWNER = 'tugboat-api';

/** What a role may do to a kind (a custom role is a list of kinds × verbs). */
export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'delete', 'operate'] as const;
export type Verb = (typeof VERBS)[number];
/** The roles every project has; a project may define more (`spec.roles`). */
export const PROJECT_ROLES = ['viewer', 'editor', 'admin'] as const;
/** Roles over the whole platform, granted on a token (`tug token create … --role platform-admin`). */
export const PLATFORM_ROLES = ['platform-viewer', 'platform-editor', 'platform-admin'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

const ref = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;

const region = { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$' } as const;
const k8sVersion = { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' } as const;
const nodeSize = { type: 'string', minLength: 1, maxLength: 64 } as const;

const nodeGroup = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'instanceType', 'minSize', 'maxSize'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
    instanceType: nodeSize,
    minSize: { type: 'integer', minimum: 0, maximum: 1000 },
    maxSize: { type: 'integer', minimum: 1, maximum: 1000 },
    desiredSize: { type: 'integer', minimum: 0, maximum: 1000 },
  },
} as const;

/**
 * An EKS cluster's network: an existing VPC and its subnets (at least two, in different zones), or
 * the CIDR and zone count of the VPC Tugboat makes (public and private subnets in each zone).
 */
const eksNetwork = {
  type: 'object',
  additionalProperties: false,
  properties: {
    vpcId: { type: 'string', pattern: '^vpc-[0-9a-f]{8,17}$' },
    subnetIds: { type: 'array', minItems: 2, maxItems: 16, uniqueItems: true, items: { type: 'string', pattern: '^subnet-[0-9a-f]{8,17}$' } },
    /** The VPC's block when Tugboat makes it: a /16 to /20, split into one /20-or-smaller subnet per zone and tier. */
    vpcCidr: { type: 'string', pattern: '^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])/(1[6-9]|20)$' },
    availabilityZones: { type: 'integer', minimum: 2, maximum: 3 },
  },
  // An existing VPC comes with the subnets to use, and existing subnets with their VPC.
  if: { anyOf: [{ required: ['vpcId'] }, { required: ['subnetIds'] }] },
  then: { required: ['vpcId', 'subnetIds'], not: { anyOf: [{ required: ['vpcCidr'] }, { required: ['availabilityZones'] }] } },
} as const;

export const AWS_ACCOUNT: KindDefinition = {
  kind: 'AwsAccount',
  plural: 'awsaccounts',
  singular: 'awsaccount',
  shortNames: ['aws'],
  scope: 'Platform',
  controller: INFRA_CONTROLLER,
  // Clients of an EKS cluster sign their EKS tokens with the account's credentials: an explicit, audited grant.
  // The support-services-controller hands a domain's account key to cert-manager's DNS-01 solver.
  secretReaders: [CLUSTER_CONTROLLER, WORKLOAD_CONTROLLER, MANAGED_SERVICES_CONTROLLER, SUPPORT_SERVICES_CONTROLLER],
  builtIn: true,
  references: [],
  secretFields: ['secretAccessKey'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['accountId', 'region'],
    properties: {
      accountId: { type: 'string', pattern: '^[0-9]{12}$' },
      region,
      roleArn: { type: 'string', pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$' },
      // Credentials: an access key pair (the secret encrypted at rest), a role assumed through STS
      // (with the pair, or with the infra-controller's own credentials), or both; the
      // infra-controller reports an incomplete set (Failed, NoCredentials).
      /** What the role's trust policy asks for in `sts:ExternalId` (only with roleArn). */
      externalId: { type: 'string', minLength: 2, maxLength: 1224, pattern: '^[\\w+=,.@:/-]+$' },
      accessKeyId: { type: 'string', minLength: 16, maxLength: 128 },
      secretAccessKey: { type: 'string', minLength: 1, maxLength: 256 },
      /** Endpoint override (the sandbox in tests and the local demo). */
      endpoint: { type: 'string', format: 'uri' },
    },
  },
};

/** How a cluster is reached: `kubeconfig` adopts an existing cluster, `eks` is provisioned on AWS. */
export const CLUSTER_PROVIDERS = ['kubeconfig', 'eks'] as const;
export type ClusterProvider = (typeof CLUSTER_PROVIDERS)[number];

/**
 * What a cluster may look like: the platform team's guardrails, checked by the API whenever a
 * ClusterInstance is written. Nothing reconciles a definition: the infra controller is its nominal
 * controller (the one identity that may write a status), and it keeps no finalizer.
 */
export const CLUSTER_DEFINITION: KindDefinition = {
  kind: 'ClusterDefinition',
  plural: 'clusterdefinitions',
  singular: 'clusterdefinition',
  shortNames: ['cd'],
  scope: 'Platform',
  controller: INFRA_CONTROLLER,
  // Rules, not things: nothing to tear down, so no finalizer (deletion waits only for referrers).
  finalizer: false,
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['provider'],
    properties: {
      provider: { type: 'string', enum: [...CLUSTER_PROVIDERS] },
      description: { type: 'string', maxLength: 1024 },
      allowedVersions: { type: 'array', minItems: 1, uniqueItems: true, items: k8sVersion },
      allowedRegions: { type: 'array', minItems: 1, uniqueItems: true, items: region },
      allowedNodeSizes: { type: 'array', minItems: 1, uniqueItems: true, items: nodeSize },
      maxNodesPerGroup: { type: 'integer', minimum: 1, maximum: 1000 },
      defaults: {
        type: 'object',
        additionalProperties: false,
        properties: {
          version: k8sVersion,
          region,
          nodeGroups: { type: 'array', maxItems: 20, items: nodeGroup },
          network: eksNetwork,
        },
      },
    },
    // An EKS cluster is provisioned, so its version, region and node sizes must be bounded; a
    // `kubeconfig` cluster already exists and only its server version can be checked (optionally).
    if: { properties: { provider: { const: 'eks' } } },
    then: { required: ['allowedVersions', 'allowedRegions', 'allowedNodeSizes'] },
  },
};

/** `defaultFor` entries: a project name (DNS label) or `*` for every project. */
const defaultForEntry = { type: 'string', pattern: '^(\\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$' } as const;

/**
 * Platform-wide, so one shared cluster can serve several projects. Owned by the cluster controller,
 * the only writer of its status: it connects (with `kubeconfig`, a secret field), records the
 * server version and ready nodes, and keeps checking. The EKS fields (`accountRef`, `region`,
 * `version`, `nodeGroups`) are validated against the definition now; provisioning them is the infra
 * issue's, with its own kind. Which fields a provider allows is a write-time rule of the API.
 */
export const CLUSTER_INSTANCE: KindDefinition = {
  kind: 'ClusterInstance',
  plural: 'clusterinstances',
  singular: 'clusterinstance',
  shortNames: ['ci', 'cluster'],
  scope: 'Platform',
  controller: CLUSTER_CONTROLLER,
  // The workload- and support-services-controllers connect to the cluster to apply what they deliver: explicit, audited grants.
  secretReaders: [WORKLOAD_CONTROLLER, SUPPORT_SERVICES_CONTROLLER],
  builtIn: true,
  references: [
    { path: 'definitionRef', kind: 'ClusterDefinition', required: true },
    { path: 'accountRef', kind: 'AwsAccount' },
  ],
  secretFields: ['kubeconfig'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['definitionRef'],
    properties: {
      definitionRef: ref,
      accountRef: ref,
      region,
      version: k8sVersion,
      nodeGroups: { type: 'array', maxItems: 20, items: nodeGroup },
      network: eksNetwork,
      kubeconfig: { type: 'string', minLength: 1, maxLength: 262144 },
      /** The kubeconfig context to use; its current-context when absent. */
      context: { type: 'string', minLength: 1, maxLength: 253 },
      /** The projects whose WorkloadInstances land here when they name no cluster (`*`: every project). */
      defaultFor: { type: 'array', maxItems: 100, uniqueItems: true, items: defaultForEntry },
    },
  },
};

/**
 * An EKS cluster as the infra-controller provisions it: network, IAM roles, the cluster and its
 * managed node groups in one AWS account and region. The cluster-controller writes one for every
 * ClusterInstance whose definition has provider `eks` (same name, owned by it); a platform team may
 * also declare one directly. Status holds the step, the inventory of what was made, and the
 * outputs a client needs to connect (endpoint, certificate authority, cluster name, region).
 */
export const EKS_CLUSTER: KindDefinition = {
  kind: 'EksCluster',
  plural: 'eksclusters',
  singular: 'ekscluster',
  shortNames: ['eks'],
  scope: 'Platform',
  controller: INFRA_CONTROLLER,
  // The cluster-controller makes, changes and deletes the EksCluster of each eks ClusterInstance.
  composedBy: [CLUSTER_CONTROLLER],
  // A database goes into the network of its cluster's EksCluster.
  readers: [MANAGED_SERVICES_CONTROLLER],
  builtIn: true,
  references: [{ path: 'accountRef', kind: 'AwsAccount', required: true }],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['accountRef', 'region', 'version'],
    properties: {
      accountRef: ref,
      region,
      version: k8sVersion,
      network: eksNetwork,
      nodeGroups: {
        type: 'array',
        maxItems: 20,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'instanceTypes', 'minSize', 'maxSize'],
          properties: {
            name: nodeGroup.properties.name,
            instanceTypes: { type: 'array', minItems: 1, maxItems: 20, uniqueItems: true, items: nodeSize },
            minSize: nodeGroup.properties.minSize,
            maxSize: nodeGroup.properties.maxSize,
            desiredSize: nodeGroup.properties.desiredSize,
          },
        },
      },
    },
  },
};

/** An environment: variable names as a shell takes them, bounded in count and size. */
const env = {
  type: 'object',
  maxProperties: 100,
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 256 },
  additionalProperties: { type: 'string', maxLength: 32768 },
} as const;

/** `command` / `args`: replaced whole by an override. */
const argv = { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 4096 } } as const;

/** A Kubernetes quantity as Tugboat accepts one (`250m`, `1.5`, `512Mi`). */
const quantity = { type: 'string', maxLength: 32, pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$' } as const;
const quantities = { type: 'object', additionalProperties: false, properties: { cpu: quantity, memory: quantity } } as const;
const resources = { type: 'object', additionalProperties: false, properties: { requests: quantities, limits: quantities } } as const;

const portNumber = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const image = { type: 'string', minLength: 1, maxLength: 512 } as const;
const replicas = { type: 'integer', minimum: 0, maximum: 1000 } as const;

/** What an instance may override when its definition lists it in `overridable` (`@tugboat/workloads` OVERRIDABLE). */
export const WORKLOAD_OVERRIDABLE = ['image', 'imageTag', 'replicas', 'env', 'resources', 'command', 'args'] as const;

/** Exactly one of httpGet and tcpSocket. */
const probe = {
  type: 'object',
  additionalProperties: false,
  properties: {
    httpGet: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'port'],
      properties: { path: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^/' }, port: portNumber },
    },
    tcpSocket: { type: 'object', additionalProperties: false, required: ['port'], properties: { port: portNumber } },
    initialDelaySeconds: { type: 'integer', minimum: 0, maximum: 3600 },
    periodSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
  },
  oneOf: [{ required: ['httpGet'] }, { required: ['tcpSocket'] }],
} as const;

/** The container source: rendered into a ServiceAccount, a Deployment and (with ports) a Service. */
const container = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** Absent when every instance brings its own (then `image` must be overridable). */
    image,
    command: argv,
    args: argv,
    // A port number or name used twice is the API's rule (naming the entry), not `uniqueItems`.
    ports: {
      type: 'array',
      maxItems: 20,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['port'],
        properties: {
          name: { type: 'string', maxLength: 15, pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' },
          port: portNumber,
          protocol: { type: 'string', enum: ['TCP', 'UDP'] },
        },
      },
    },
    env,
    resources,
    replicas,
    readinessProbe: probe,
    livenessProbe: probe,
  },
} as const;

/** A dotted path into a chart's values (`image.tag`, `replicaCount`). */
const valuesPath = { type: 'string', maxLength: 256, pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$' } as const;

/**
 * The Helm chart source: rendered by the workload-controller with `helm template` (as Argo CD
 * does) and applied like manifests. An exact version, so a render is reproducible; `values` are
 * the platform team's, `overridableValues` the paths (and everything under them) an instance may
 * set in `spec.overrides.values`.
 */
const helmSource = {
  type: 'object',
  additionalProperties: false,
  required: ['repository', 'chart', 'version'],
  properties: {
    /** An HTTP(S) chart repository (`https://charts.example.com`) or an OCI registry path (`oci://ghcr.io/org/charts`). */
    repository: { type: 'string', minLength: 1, maxLength: 512, pattern: '^(https?|oci)://[^\\s?#]+$' },
    chart: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$' },
    version: { type: 'string', maxLength: 64, pattern: '^v?[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.-]+)?$' },
    values: { type: 'object', maxProperties: 256 },
    overridableValues: { type: 'array', maxItems: 64, uniqueItems: true, items: valuesPath },
  },
} as const;

/**
 * What a workload is, published by the platform team: a container Tugboat renders, Kubernetes
 * manifests (any kinds, custom resources included), or a Helm chart, plus what an instance may
 * override and the guardrails every instance is held to. The API parses `manifests` at write time and
 * refuses (422 naming the document) what the workload-controller could not apply; a chart is
 * rendered by the workload-controller, which holds its output to the same guardrails.
 */
export const WORKLOAD_DEFINITION: KindDefinition = {
  kind: 'WorkloadDefinition',
  plural: 'workloaddefinitions',
  singular: 'workloaddefinition',
  shortNames: ['wd'],
  scope: 'Platform',
  controller: WORKLOAD_CONTROLLER,
  // Rules, not things: nothing to tear down, so no finalizer (deletion waits only for referrers).
  finalizer: false,
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      description: { type: 'string', maxLength: 1024 },
      container,
      /** Multi-document Kubernetes YAML; each document is checked by the API when written. */
      manifests: { type: 'string', minLength: 1, maxLength: 262144 },
      helm: helmSource,
      /**
       * Where the app serves Prometheus metrics: a port of its Service (by name), a path and how
       * often to scrape. Tugboat makes a ServiceMonitor for each instance, on a cluster with
       * metrics (see ObservabilityInstance).
       */
      metrics: {
        type: 'object',
        additionalProperties: false,
        required: ['port'],
        properties: {
          port: { type: 'string', maxLength: 15, pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' },
          path: { type: 'string', maxLength: 1024, pattern: '^/[A-Za-z0-9/._~-]*$' },
          interval: { type: 'string', maxLength: 16, pattern: '^([0-9]+h)?([0-9]+m)?([0-9]+s)?$', minLength: 2 },
        },
      },
      overridable: { type: 'array', maxItems: WORKLOAD_OVERRIDABLE.length, uniqueItems: true, items: { type: 'string', enum: [...WORKLOAD_OVERRIDABLE] } },
      maxReplicas: { type: 'integer', minimum: 1, maximum: 1000 },
      allowedImageRegistries: { type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 260 } },
    },
    // One source: named by its fields in the 422 (see `schemaErrorDetails`).
    oneOf: [{ required: ['container'] }, { required: ['manifests'] }, { required: ['helm'] }],
  },
};

/** The ACME directories Tugboat uses when a DomainDefinition names none (Let's Encrypt's). */
export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

/** A DNS name's labels under a domain (`hello`, `api.eu`): lower-case, each a DNS label. */
const hostLabels = { type: 'string', minLength: 1, maxLength: 190, pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$' } as const;

/**
 * How a workload is reached from outside its cluster: at `https://<host>.<domain><path>` (plain
 * http with `tls.enabled: false`), through the cluster's gateway of `gatewayRef`, to `port` of its
 * Service (`service`, the instance's own name by default).
 */
const exposure = {
  type: 'object',
  additionalProperties: false,
  required: ['domainRef', 'gatewayRef', 'port'],
  properties: {
    domainRef: ref,
    gatewayRef: ref,
    /** The name under the domain; the instance's name when left out. */
    host: hostLabels,
    service: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' },
    port: portNumber,
    path: { type: 'string', maxLength: 1024, pattern: '^/[A-Za-z0-9/._~%!$&\'()*+,;=:@-]*$' },
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** Default true: a certificate from the domain's ACME issuer, and http redirected to https. */
        enabled: { type: 'boolean' },
        /** Which of the domain's ACME directories issues it: `production` (default) or `staging` (for tiers that ask for it). */
        acme: { type: 'string', enum: ['production', 'staging'] },
      },
    },
  },
} as const;

/**
 * A developer's running copy of a definition, in a project: on a cluster (the project's default
 * when left out), in a namespace (derived from project and name when left out, then immutable),
 * with the overrides its definition allows.
 */
export const WORKLOAD_INSTANCE: KindDefinition = {
  kind: 'WorkloadInstance',
  plural: 'workloadinstances',
  singular: 'workloadinstance',
  shortNames: ['wi', 'app'],
  scope: 'Project',
  controller: WORKLOAD_CONTROLLER,
  // A cluster's log collector is configured for the namespaces of the workloads there.
  // and a secret's store on the clusters of the apps that receive it.
  readers: [SUPPORT_SERVICES_CONTROLLER],
  builtIn: true,
  references: [
    { path: 'definitionRef', kind: 'WorkloadDefinition', required: true },
    { path: 'clusterRef', kind: 'ClusterInstance', required: true },
    // The databases the app uses: their delete is refused while it does (409 naming it).
    { path: 'databases[].ref', kind: 'DatabaseInstance' },
    // The secrets it receives: their delete is refused while it does (409 naming it).
    { path: 'secrets[].ref', kind: 'SecretInstance' },
    // Its exposure's domain and gateway: their delete is refused while it uses them.
    { path: 'expose.domainRef', kind: 'DomainDefinition' },
    { path: 'expose.gatewayRef', kind: 'GatewayDefinition' },
  ],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    // No `clusterRef` nor `namespace`: the API writes the project's default cluster and the derived namespace in.
    required: ['definitionRef'],
    properties: {
      definitionRef: ref,
      clusterRef: ref,
      namespace: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
      /**
       * The databases the app uses (DatabaseInstances of its project): each one's connection
       * reaches every container as `<envPrefix>_HOST`, `_PORT`, `_DATABASE`, `_USERNAME`,
       * `_PASSWORD` and `_URL`, from a Secret in the app's namespace; the app starts once they are Ready.
       */
      databases: {
        type: 'array',
        maxItems: 10,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['ref', 'envPrefix'],
          properties: { ref, envPrefix: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,30}$' } },
        },
      },
      /**
       * The secrets the app receives (SecretInstances of its project): each one's value as the
       * environment variable its `key` names (`as: env`, the default) or as the file `key` in
       * `mountPath` (`as: file`); a changed value rolls the pods.
       */
      secrets: {
        type: 'array',
        maxItems: 20,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['ref'],
          properties: {
            ref,
            as: { type: 'string', enum: ['env', 'file'] },
            /** Where the file goes with `as: file`; default `/var/run/secrets/tugboat/<secret name>`. */
            mountPath: { type: 'string', maxLength: 1024, pattern: '^/[A-Za-z0-9/._-]*$' },
          },
        },
      },
      /** Reachable from outside at its own https hostname (see `Exposure`, which reports the url). */
      expose: exposure,
      /**
       * Its metrics (when its definition declares them) and logs: both collected by default by its
       * cluster's ObservabilityInstance (made on first use from the default ObservabilityDefinition);
       * `false` opts out.
       */
      observability: {
        type: 'object',
        additionalProperties: false,
        properties: { metrics: { type: 'boolean' }, logs: { type: 'boolean' } },
      },
      overrides: {
        type: 'object',
        additionalProperties: false,
        properties: {
          /** Chart values (a Helm-chart definition), each path one its `helm.overridableValues` allows. */
          values: { type: 'object', maxProperties: 64 },
          image,
          imageTag: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' },
          replicas,
          env,
          resources,
          command: argv,
          args: argv,
        },
      },
    },
  },
};

/** The database engines Tugboat provisions (RDS engine names). */
export const DATABASE_ENGINES = ['postgres', 'mysql'] as const;
export type DatabaseEngine = (typeof DATABASE_ENGINES)[number];
/** What becomes of the RDS instance when its DatabaseInstance is deleted. */
export const DATABASE_DELETION_POLICIES = ['snapshot', 'delete', 'retain'] as const;

const engineVersion = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+){0,2}$', maxLength: 16 } as const;
const instanceClass = { type: 'string', pattern: '^db\\.[a-z0-9]+\\.[a-z0-9]+$', maxLength: 32 } as const;
const storageGb = { type: 'integer', minimum: 20, maximum: 65536 } as const;
const maintenanceWindow = {
  type: 'string',
  pattern: '^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$',
} as const;

/**
 * What a database may be: the platform team's engine, versions, instance classes and storage
 * range, and how it is run (backups, multi-AZ, deletion policy, when changes apply). Storage is
 * always encrypted. Checked by the API whenever a DatabaseInstance is written.
 */
/** An RDS engine parameter's name, as in a parameter group (`work_mem`, `log_min_duration_statement`). */
const databaseParameterName = { type: 'string', pattern: '^[a-z_][a-z0-9_.]{0,127}$' } as const;

export const DATABASE_DEFINITION: KindDefinition = {
  kind: 'DatabaseDefinition',
  plural: 'databasedefinitions',
  singular: 'databasedefinition',
  shortNames: ['dbd'],
  scope: 'Platform',
  controller: MANAGED_SERVICES_CONTROLLER,
  // Rules, not things: nothing to tear down (deletion waits only for the instances that use it).
  finalizer: false,
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['engine', 'allowedVersions', 'allowedInstanceClasses', 'storageGb'],
    properties: {
      engine: { type: 'string', enum: [...DATABASE_ENGINES] },
      description: { type: 'string', maxLength: 1024 },
      allowedVersions: { type: 'array', minItems: 1, maxItems: 32, uniqueItems: true, items: engineVersion },
      allowedInstanceClasses: { type: 'array', minItems: 1, maxItems: 32, uniqueItems: true, items: instanceClass },
      storageGb: {
        type: 'object',
        additionalProperties: false,
        required: ['min', 'max'],
        properties: { min: storageGb, max: storageGb },
      },
      /** Days of automated backups (0 turns them off). Default 7. */
      backupRetentionDays: { type: 'integer', minimum: 0, maximum: 35 },
      multiAz: { type: 'boolean' },
      /** `snapshot` (a final snapshot, the default), `delete`, or `retain` (the RDS instance stays; Tugboat lets go of it). */
      deletionPolicy: { type: 'string', enum: [...DATABASE_DELETION_POLICIES] },
      /** When a change of class or storage is applied: `immediately` (the default) or in the `maintenanceWindow`. */
      applyChanges: { type: 'string', enum: ['immediately', 'maintenanceWindow'] },
      /** RDS's weekly window, UTC, e.g. `sun:03:00-sun:04:00`. */
      maintenanceWindow,
      defaults: {
        type: 'object',
        additionalProperties: false,
        properties: { version: engineVersion, instanceClass, storageGb },
      },
      /** The engine parameters (RDS parameter group names) an instance may set in `spec.parameters`. */
      allowedParameters: { type: 'array', maxItems: 64, uniqueItems: true, items: databaseParameterName },
    },
  },
};

/**
 * A database a project's app uses: an RDS instance of its definition's engine, in the network of
 * the cluster it names (its EksCluster's private subnets, admitting the cluster's nodes), or, for
 * a cluster Tugboat did not provision, in the account, region and subnets given.
 */
export const DATABASE_INSTANCE: KindDefinition = {
  kind: 'DatabaseInstance',
  plural: 'databaseinstances',
  singular: 'databaseinstance',
  shortNames: ['db'],
  scope: 'Project',
  controller: MANAGED_SERVICES_CONTROLLER,
  builtIn: true,
  references: [
    { path: 'definitionRef', kind: 'DatabaseDefinition', required: true },
    // One of the two: the API refuses both, and neither.
    { path: 'clusterRef', kind: 'ClusterInstance' },
    { path: 'network.accountRef', kind: 'AwsAccount' },
  ],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['definitionRef', 'databaseName'],
    properties: {
      definitionRef: ref,
      clusterRef: ref,
      /** Instead of `clusterRef`: where the database goes when its cluster is not one Tugboat made. */
      network: {
        type: 'object',
        additionalProperties: false,
        required: ['accountRef', 'region', 'subnetIds'],
        properties: {
          accountRef: ref,
          region,
          subnetIds: { type: 'array', minItems: 2, maxItems: 16, uniqueItems: true, items: { type: 'string', pattern: '^subnet-[0-9a-f]{8,17}$' } },
          /** Who may connect on the engine's port: CIDR blocks (e.g. the cluster's node subnets). */
          allowedCidrs: {
            type: 'array',
            minItems: 1,
            maxItems: 16,
            uniqueItems: true,
            items: { type: 'string', pattern: '^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])/([0-9]|[12][0-9]|3[0-2])$' },
          },
        },
      },
      /** The database created in the instance (and the one apps connect to). */
      databaseName: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]{0,62}$' },
      version: engineVersion,
      instanceClass,
      storageGb,
      /**
       * Change it (to any new value, e.g. the date) to have the password rotated now: RDS makes a
       * new one, and the apps that use the database get it and roll their pods.
       */
      passwordRotation: { type: 'string', minLength: 1, maxLength: 64 },
      /**
       * Engine parameters (e.g. `work_mem: "64MB"`), each one the definition's `allowedParameters`
       * lists. Applied through an RDS parameter group of the instance's own.
       */
      parameters: {
        type: 'object',
        maxProperties: 64,
        propertyNames: databaseParameterName,
        additionalProperties: { type: 'string', maxLength: 1024 },
      },
    },
  },
};

const dnsLabel = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' } as const;
const kindName = { type: 'string', minLength: 1, maxLength: 63, pattern: '^(\\*|[A-Z][A-Za-z0-9]*)$' } as const;

/**
 * A tenancy boundary: every project-scoped object lives in one, and the database refuses an object
 * in a project that does not exist, or the delete of a project that still holds objects. Members
 * are users with a role; `roles` adds custom roles (lists of kinds × verbs) to the built-in
 * viewer, editor and admin. Named after the project; platform-scoped; kept by the API itself.
 */
export const PROJECT: KindDefinition = {
  kind: 'Project',
  plural: 'projects',
  singular: 'project',
  shortNames: ['proj'],
  scope: 'Platform',
  controller: API_OWNER,
  finalizer: false,
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      description: { type: 'string', maxLength: 1024 },
      members: {
        type: 'array',
        maxItems: 1000,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['user', 'role'],
          properties: { user: dnsLabel, role: dnsLabel },
        },
      },
      roles: {
        type: 'array',
        maxItems: 50,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'rules'],
          properties: {
            name: dnsLabel,
            description: { type: 'string', maxLength: 1024 },
            rules: {
              type: 'array',
              minItems: 1,
              maxItems: 50,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['kinds', 'verbs'],
                properties: {
                  kinds: { type: 'array', minItems: 1, maxItems: 50, uniqueItems: true, items: kindName },
                  verbs: { type: 'array', minItems: 1, maxItems: VERBS.length + 1, uniqueItems: true, items: { type: 'string', enum: ['*', ...VERBS] } },
                },
              },
            },
          },
        },
      },
    },
  },
};

/**
 * A domain apps are exposed under, published by the platform team: the Route 53 hosted zone that
 * holds its records (created by Tugboat, or an existing one adopted by id), the AWS account that
 * writes them, and the ACME account that certifies its hosts (DNS-01 through the same zone).
 * Status: the zone's id and name servers (to delegate the domain to).
 */
export const DOMAIN_DEFINITION: KindDefinition = {
  kind: 'DomainDefinition',
  plural: 'domaindefinitions',
  singular: 'domaindefinition',
  shortNames: ['domain'],
  scope: 'Platform',
  controller: SUPPORT_SERVICES_CONTROLLER,
  builtIn: true,
  references: [{ path: 'accountRef', kind: 'AwsAccount', required: true }],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['domain', 'accountRef', 'acme'],
    properties: {
      description: { type: 'string', maxLength: 1024 },
      domain: { type: 'string', minLength: 3, maxLength: 200, pattern: '^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$' },
      accountRef: ref,
      /** Where cert-manager's Route 53 client signs (Route 53 is global); default us-east-1. */
      region,
      hostedZone: {
        type: 'object',
        additionalProperties: false,
        properties: {
          /** Adopt this existing zone (its name must be the domain) instead of creating one. */
          id: { type: 'string', pattern: '^Z[A-Z0-9]{1,31}$' },
          /** A zone Tugboat created: `retain` (default: delegations point at it) or `delete` it with the domain. */
          deletionPolicy: { type: 'string', enum: ['retain', 'delete'] },
        },
      },
      acme: {
        type: 'object',
        additionalProperties: false,
        required: ['email'],
        properties: {
          /** The ACME account's contact, as Let's Encrypt asks for one. */
          email: { type: 'string', maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' },
          /** The directory for `acme: production` exposures; Let's Encrypt's production one by default. */
          server: { type: 'string', maxLength: 512, pattern: '^https://[^\\s]+$' },
          /** The directory for `acme: staging` exposures; Let's Encrypt's staging one by default. */
          stagingServer: { type: 'string', maxLength: 512, pattern: '^https://[^\\s]+$' },
        },
      },
    },
  },
};

/** The Gateway API implementations Tugboat installs. */
export const GATEWAY_IMPLEMENTATIONS = ['envoy-gateway'] as const;

const chartPin = {
  type: 'object',
  additionalProperties: false,
  properties: {
    repository: helmSource.properties.repository,
    chart: helmSource.properties.chart,
    version: helmSource.properties.version,
  },
} as const;

/**
 * How a cluster's apps are reached, published by the platform team: the Gateway API implementation
 * (Envoy Gateway) and cert-manager, installed from their charts on a cluster the first time an app
 * there is exposed through this gateway, and one Gateway with an external load balancer.
 */
export const GATEWAY_DEFINITION: KindDefinition = {
  kind: 'GatewayDefinition',
  plural: 'gatewaydefinitions',
  singular: 'gatewaydefinition',
  shortNames: ['gateway', 'gwd'],
  scope: 'Platform',
  controller: SUPPORT_SERVICES_CONTROLLER,
  // Rules, not things: what it installs belongs to the exposures that use it on each cluster.
  finalizer: false,
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      description: { type: 'string', maxLength: 1024 },
      /** Default `envoy-gateway`. */
      implementation: { type: 'string', enum: [...GATEWAY_IMPLEMENTATIONS] },
      /** The implementation's chart; Envoy Gateway's `oci://docker.io/envoyproxy` `gateway-helm` pin by default. */
      chart: chartPin,
      /** cert-manager's chart; `https://charts.jetstack.io` `cert-manager` pin by default. */
      certManagerChart: chartPin,
    },
  },
};

/**
 * One workload's way in, made by the workload-controller for each WorkloadInstance with
 * `spec.expose` (same project and name), reported by the support-services-controller: the route
 * on the cluster's gateway, the certificate, the DNS records, and the url.
 */
export const EXPOSURE: KindDefinition = {
  kind: 'Exposure',
  plural: 'exposures',
  singular: 'exposure',
  shortNames: ['expo'],
  scope: 'Project',
  controller: SUPPORT_SERVICES_CONTROLLER,
  composedBy: [WORKLOAD_CONTROLLER],
  builtIn: true,
  references: [
    { path: 'clusterRef', kind: 'ClusterInstance', required: true },
    { path: 'domainRef', kind: 'DomainDefinition', required: true },
    { path: 'gatewayRef', kind: 'GatewayDefinition', required: true },
  ],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['workload', 'clusterRef', 'namespace', 'domainRef', 'gatewayRef', 'host', 'service', 'port'],
    properties: {
      /** The WorkloadInstance (same project) it exposes. */
      workload: { type: 'string', minLength: 1, maxLength: 63 },
      clusterRef: ref,
      namespace: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
      domainRef: ref,
      gatewayRef: ref,
      host: hostLabels,
      service: exposure.properties.service,
      port: portNumber,
      path: exposure.properties.path,
      tls: exposure.properties.tls,
    },
  },
};

/** Where a secret's value lives. */
export const SECRET_BACKENDS = ['tugboat', 'aws-secrets-manager'] as const;

/**
 * Where the values of its secrets live, published by the platform team: in Tugboat itself (sealed
 * like every secret field), or in AWS Secrets Manager (written there by Tugboat with the account's
 * credentials).
 */
export const SECRET_DEFINITION: KindDefinition = {
  kind: 'SecretDefinition',
  plural: 'secretdefinitions',
  singular: 'secretdefinition',
  shortNames: ['secretdef'],
  scope: 'Platform',
  controller: SUPPORT_SERVICES_CONTROLLER,
  // Rules, not things: deletion waits only for the SecretInstances that use it.
  finalizer: false,
  // The workload-controller learns where a secret's value lives before it reads it (never, for Secrets Manager).
  readers: [WORKLOAD_CONTROLLER],
  builtIn: true,
  references: [{ path: 'accountRef', kind: 'AwsAccount' }],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['backend'],
    properties: {
      description: { type: 'string', maxLength: 1024 },
      backend: { type: 'string', enum: [...SECRET_BACKENDS] },
      /** The account Secrets Manager is written with (`aws-secrets-manager` only). */
      accountRef: ref,
      /** Secrets Manager's region; the account's when left out. */
      region,
      /** Days AWS keeps a deleted secret restorable (7 to 30, AWS's range); default 7. */
      recoveryWindowDays: { type: 'integer', minimum: 7, maximum: 30 },
    },
    if: { properties: { backend: { const: 'aws-secrets-manager' } }, required: ['backend'] },
    then: { required: ['accountRef'] },
  },
};

/**
 * One secret value of a project's app (a password, an API key, a certificate), write-only: its
 * `value` is a secret field, never readable through any read, revision, diff, event or watch frame
 * (`tug secret set` writes it from a file or stdin). The apps that name it in `spec.secrets`
 * receive it; its delete is refused while they do.
 */
export const SECRET_INSTANCE: KindDefinition = {
  kind: 'SecretInstance',
  plural: 'secretinstances',
  singular: 'secretinstance',
  shortNames: ['secret'],
  scope: 'Project',
  controller: SUPPORT_SERVICES_CONTROLLER,
  // The workload-controller puts the value where the apps that receive it read it: an explicit, audited grant.
  secretReaders: [WORKLOAD_CONTROLLER],
  builtIn: true,
  references: [{ path: 'definitionRef', kind: 'SecretDefinition', required: true }],
  secretFields: ['value'],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['definitionRef', 'key'],
    properties: {
      definitionRef: ref,
      /** The environment variable (or the file name) the apps receive the value as. */
      key: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      /** The value (write-only). Left out, the secret waits for `tug secret set`. */
      value: { type: 'string', maxLength: 65536 },
    },
  },
};


/** A retention period as Prometheus and Loki take one (`15d`, `720h`, `2w`). */
const retention = { type: 'string', maxLength: 16, pattern: '^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?$', minLength: 2 } as const;
/** A storage size as Prometheus' `retentionSize` takes one (`50GB`, `512MB`). */
const retentionSize = { type: 'string', maxLength: 16, pattern: '^(0|([0-9]+(\\.[0-9]+)?(B|KB|MB|GB|TB|PB|EB)))$' } as const;
/** Chart values set by the platform team (merged over Tugboat's own, under them the chart's defaults). */
const chartValues = { type: 'object', maxProperties: 256 } as const;
/** A values path an instance may override, under the component it belongs to (`metrics.grafana.replicas`). */
const observabilityValuesPath = { type: 'string', maxLength: 256, pattern: '^(metrics|logs|collector)(\\.[A-Za-z0-9_-]+)+$' } as const;

/**
 * A cluster's metrics and logs stack, published by the platform team: kube-prometheus-stack
 * (Prometheus, Alertmanager, Grafana) and Loki with the Alloy log collector, from their Helm charts
 * at pinned versions, with retention, resources and values. `default: true` makes it the one a
 * cluster gets on first use (a workload there that declares metrics or keeps its logs collected).
 */
export const OBSERVABILITY_DEFINITION: KindDefinition = {
  kind: 'ObservabilityDefinition',
  plural: 'observabilitydefinitions',
  singular: 'observabilitydefinition',
  shortNames: ['obsdef'],
  scope: 'Platform',
  controller: SUPPORT_SERVICES_CONTROLLER,
  // Rules, not things: what it installs belongs to the ObservabilityInstance of each cluster.
  finalizer: false,
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      description: { type: 'string', maxLength: 1024 },
      /** The definition a cluster's ObservabilityInstance is made from on first use (at most one is the default). */
      default: { type: 'boolean' },
      /** Where the stack goes on each cluster; default `tugboat-observability`. */
      namespace: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
      metrics: {
        type: 'object',
        additionalProperties: false,
        properties: {
          /** Default true. */
          enabled: { type: 'boolean' },
          /** kube-prometheus-stack from prometheus-community by default. */
          chart: chartPin,
          /** How long Prometheus keeps samples; default `15d`. */
          retention,
          retentionSize,
          /** Prometheus' requests and limits. */
          resources,
          /** Grafana (default true) and Alertmanager (default true). */
          grafana: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' } } },
          alertmanager: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' } } },
          values: chartValues,
        },
      },
      logs: {
        type: 'object',
        additionalProperties: false,
        properties: {
          /** Default true. */
          enabled: { type: 'boolean' },
          /** Loki from the grafana repository by default (single binary, filesystem storage). */
          chart: chartPin,
          /** The log collector: Grafana Alloy from the grafana repository by default (a DaemonSet). */
          collectorChart: chartPin,
          /** How long Loki keeps logs; default `168h`. */
          retention,
          /** Loki's requests and limits. */
          resources,
          values: chartValues,
          collectorValues: chartValues,
        },
      },
      /** The values paths an instance may set in `spec.overrides.values` (`metrics.…`, `logs.…`, `collector.…`, and everything under them). */
      overridableValues: { type: 'array', maxItems: 64, uniqueItems: true, items: observabilityValuesPath },
    },
  },
};

/**
 * A cluster's metrics and logs, installed and kept healthy by the support-services-controller from
 * its definition: one per cluster, made by a platform team or by the workload-controller on first
 * use. Status: per-component readiness, the Grafana, Prometheus and Loki addresses, and which
 * namespaces' logs are collected. Deleting it removes everything it installed.
 */
export const OBSERVABILITY_INSTANCE: KindDefinition = {
  kind: 'ObservabilityInstance',
  plural: 'observabilityinstances',
  singular: 'observabilityinstance',
  shortNames: ['obs'],
  scope: 'Platform',
  controller: SUPPORT_SERVICES_CONTROLLER,
  // A workload that asks for metrics or logs on a cluster without one makes it from the default definition.
  composedBy: [WORKLOAD_CONTROLLER],
  builtIn: true,
  references: [
    { path: 'definitionRef', kind: 'ObservabilityDefinition', required: true },
    { path: 'clusterRef', kind: 'ClusterInstance', required: true },
    { path: 'grafana.gatewayRef', kind: 'GatewayDefinition' },
  ],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['definitionRef', 'clusterRef'],
    properties: {
      definitionRef: ref,
      /** The cluster (at most one ObservabilityInstance each). */
      clusterRef: ref,
      /**
       * Grafana reachable from outside at `http://<load balancer>/grafana/` through this gateway's
       * http listener on the cluster (a GatewayDefinition some exposure there already uses, so its
       * Gateway exists); in-cluster only when left out.
       */
      grafana: { type: 'object', additionalProperties: false, properties: { gatewayRef: ref } },
      overrides: {
        type: 'object',
        additionalProperties: false,
        properties: {
          /** Chart values by component (`metrics`, `logs`, `collector`), each path one the definition's `overridableValues` allows. */
          values: {
            type: 'object',
            additionalProperties: false,
            properties: { metrics: chartValues, logs: chartValues, collector: chartValues },
          },
        },
      },
    },
  },
};


/** The label that puts a cluster in a tier (`dev`, `staging`, `production`, or what the platform team names). */
export const TIER_LABEL = 'tugboat.dev/tier';
/** Labels on every object an Application owns: which Application, component and cluster it is. */
export const APPLICATION_LABELS = {
  application: 'tugboat.dev/application',
  component: 'tugboat.dev/component',
  cluster: 'tugboat.dev/cluster',
} as const;

/** A component's own name inside its Application: a DNS label, unique across the Application's components. */
const componentName = { type: 'string', minLength: 1, maxLength: 40, pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' } as const;
/** A typed parameter value (see `@tugboat/applications`). */
const parameterValue = { type: ['string', 'integer', 'boolean'], maxLength: 1024 } as const;
const parameterValues = {
  type: 'object',
  maxProperties: 32,
  propertyNames: { pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,62}$' },
  additionalProperties: parameterValue,
} as const;

/**
 * One app with all it depends on, in one document: its workloads, databases and secrets (each a
 * component, named inside the Application), its typed parameters, and the clusters it runs on (a
 * tier, i.e. the clusters labelled `tugboat.dev/tier`, or clusters by name). The API expands it in
 * the write's transaction into one WorkloadInstance, DatabaseInstance and SecretInstance per
 * component and target cluster, owned by it (see `@tugboat/applications`); the workload-controller
 * reports the tree of their statuses and re-expands it when a tier's clusters change.
 */
export const APPLICATION: KindDefinition = {
  kind: 'Application',
  plural: 'applications',
  singular: 'application',
  shortNames: [],
  scope: 'Project',
  // Reports the tree and re-expands it (`POST …/applications/{name}/expand`) when a tier's clusters change.
  controller: WORKLOAD_CONTROLLER,
  builtIn: true,
  // What its components are made from (their delete is refused while it uses them, and `tug apply`
  // puts them first), and the clusters it names. References are never parameters: not substituted.
  references: [
    { path: 'workloads[].definitionRef', kind: 'WorkloadDefinition' },
    { path: 'workloads[].expose.domainRef', kind: 'DomainDefinition' },
    { path: 'workloads[].expose.gatewayRef', kind: 'GatewayDefinition' },
    { path: 'databases[].definitionRef', kind: 'DatabaseDefinition' },
    { path: 'secrets[].definitionRef', kind: 'SecretDefinition' },
    { path: 'targets[].clusters[]', kind: 'ClusterInstance' },
  ],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['targets'],
    properties: {
      description: { type: 'string', maxLength: 1024 },
      /** Declared parameters: `${name}` in a component's string fields; a target may set their values. */
      parameters: {
        type: 'array',
        maxItems: 32,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'type'],
          properties: {
            name: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,62}$' },
            type: { type: 'string', enum: ['string', 'integer', 'boolean'] },
            default: parameterValue,
            description: { type: 'string', maxLength: 1024 },
          },
        },
      },
      /** Where it runs: each target is a tier or a list of clusters, with its own parameter values. */
      targets: {
        type: 'array',
        minItems: 1,
        maxItems: 20,
        items: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tier: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
            clusters: { type: 'array', minItems: 1, maxItems: 50, uniqueItems: true, items: ref },
            parameters: parameterValues,
          },
          oneOf: [{ required: ['tier'] }, { required: ['clusters'] }],
        },
      },
      workloads: {
        type: 'array',
        maxItems: 20,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'definitionRef'],
          properties: {
            name: componentName,
            definitionRef: ref,
            /** The Application's databases it uses, by component name. */
            databases: {
              type: 'array',
              maxItems: 10,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['component', 'envPrefix'],
                properties: { component: componentName, envPrefix: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,30}$' } },
              },
            },
            /** The Application's secrets it receives, by component name. */
            secrets: {
              type: 'array',
              maxItems: 20,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['component'],
                properties: {
                  component: componentName,
                  as: { type: 'string', enum: ['env', 'file'] },
                  mountPath: { type: 'string', maxLength: 1024, pattern: '^/[A-Za-z0-9/._-]*$' },
                },
              },
            },
            /** As a WorkloadInstance's; `host` may use parameters and defaults to `<workload>-<application>-<cluster>`. */
            expose: { ...exposure, properties: { ...exposure.properties, host: { type: 'string', minLength: 1, maxLength: 190 } } },
            observability: { type: 'object', additionalProperties: false, properties: { metrics: { type: 'boolean' }, logs: { type: 'boolean' } } },
            /** As a WorkloadInstance's; string values may use parameters (`"${replicas}"` takes an integer parameter whole). */
            overrides: { type: 'object', maxProperties: 16 },
          },
        },
      },
      databases: {
        type: 'array',
        maxItems: 10,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'definitionRef', 'databaseName'],
          properties: {
            name: componentName,
            definitionRef: ref,
            databaseName: { type: 'string', minLength: 1, maxLength: 63 },
            version: { type: 'string', maxLength: 64 },
            instanceClass: { type: 'string', maxLength: 64 },
            storageGb: { type: ['integer', 'string'] },
            network: { type: 'object', maxProperties: 8 },
            passwordRotation: { type: 'string', minLength: 1, maxLength: 64 },
            parameters: { type: 'object', maxProperties: 64, additionalProperties: { type: 'string', maxLength: 1024 } },
          },
        },
      },
      /** Each cluster's copy is a SecretInstance whose value is set with `tug secret set` (never in the Application). */
      secrets: {
        type: 'array',
        maxItems: 20,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'definitionRef', 'key'],
          properties: {
            name: componentName,
            definitionRef: ref,
            key: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
          },
        },
      },
    },
  },
};

const tierName = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' } as const;

/** An image pinned by its digest: a release never becomes a different image on the way. */
export const DIGEST_IMAGE_PATTERN = '^[a-z0-9]([-a-z0-9._/:]*[a-z0-9])?@sha256:[0-9a-f]{64}$';

/**
 * One build of one workload of an Application, made by CI: its image pinned by digest, the commit
 * it was built from and a link to the build. Immutable once written. Creating one rolls it out
 * through the Application's tiers (see `DeliveryPolicy` and `Rollout`); it belongs to its
 * Application and goes with it.
 */
export const RELEASE: KindDefinition = {
  kind: 'Release',
  plural: 'releases',
  singular: 'release',
  shortNames: ['rel'],
  scope: 'Project',
  controller: API_OWNER,
  finalizer: false,
  readers: [WORKLOAD_CONTROLLER],
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['application', 'component', 'image', 'commit'],
    properties: {
      application: ref,
      /** A workload component of the Application. */
      component: componentName,
      image: { type: 'string', maxLength: 512, pattern: DIGEST_IMAGE_PATTERN },
      commit: { type: 'string', pattern: '^[0-9a-f]{7,64}$' },
      buildUrl: { type: 'string', maxLength: 1024, pattern: '^https?://[^\\s]+$' },
      description: { type: 'string', maxLength: 1024 },
    },
  },
};

export const DELIVERY_MODES = ['automatic', 'approval'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/**
 * How changes roll out in one tier (the clusters labelled `tugboat.dev/tier`): at once
 * (`automatic`, also what a tier without a policy does), or once a person holding one of
 * `approvers.roles` in the Application's project approves (`approval`). `requires` names an earlier
 * tier a release must be Ready in before it rolls out here. One policy per tier.
 */
export const DELIVERY_POLICY: KindDefinition = {
  kind: 'DeliveryPolicy',
  plural: 'deliverypolicies',
  singular: 'deliverypolicy',
  shortNames: ['dp'],
  scope: 'Platform',
  controller: API_OWNER,
  finalizer: false,
  readers: [WORKLOAD_CONTROLLER],
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['tier', 'mode'],
    properties: {
      tier: tierName,
      mode: { type: 'string', enum: [...DELIVERY_MODES] },
      approvers: {
        type: 'object',
        additionalProperties: false,
        required: ['roles'],
        properties: { roles: { type: 'array', minItems: 1, maxItems: 16, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 63 } } },
      },
      requires: { type: 'object', additionalProperties: false, required: ['tier'], properties: { tier: tierName } },
    },
    if: { properties: { mode: { const: 'approval' } } },
    then: { required: ['approvers'] },
  },
};

/** Where a Rollout is: see `ROLLOUT`. */
export const ROLLOUT_STATES = ['PendingApproval', 'Waiting', 'Applied', 'Rejected', 'Superseded'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];
/** The tier of clusters that carry no `tugboat.dev/tier` label, in Rollouts and DeliveryPolicies. */
export const UNTIERED = 'default';

/**
 * One change to an Application in one tier: the releases the tier runs after it and what it
 * changes there (objects created, updated, deleted, with their diffs). The API writes it on every
 * expansion that changes the tier: `Applied` at once in an automatic tier; `PendingApproval` in an
 * approval tier until someone allowed approves or rejects it (`POST …/rollouts/{name}/approve`);
 * `Waiting` while a release it carries is not yet Ready in the tier its policy requires;
 * `Superseded` when a newer proposal replaced it. Its list is the tier's history. People never
 * write it (the API refuses), they decide it.
 */
export const ROLLOUT: KindDefinition = {
  kind: 'Rollout',
  plural: 'rollouts',
  singular: 'rollout',
  shortNames: ['ro'],
  scope: 'Project',
  controller: API_OWNER,
  finalizer: false,
  writtenByApi: true,
  readers: [WORKLOAD_CONTROLLER],
  builtIn: true,
  references: [],
  secretFields: [],
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['application', 'tier', 'revision', 'cause', 'releases', 'changes', 'contentHash'],
    properties: {
      application: ref,
      tier: tierName,
      revision: { type: 'integer', minimum: 1 },
      cause: { type: 'string', enum: ['release', 'change', 'undo'] },
      releases: { type: 'array', items: { type: 'object' } },
      changes: { type: 'array', items: { type: 'object' } },
      contentHash: { type: 'string', maxLength: 128 },
      previousRevision: { type: 'integer', minimum: 1 },
    },
  },
};

export const BUILTIN_KINDS: readonly KindDefinition[] = [
  PROJECT,
  AWS_ACCOUNT,
  EKS_CLUSTER,
  CLUSTER_DEFINITION,
  CLUSTER_INSTANCE,
  WORKLOAD_DEFINITION,
  WORKLOAD_INSTANCE,
  DATABASE_DEFINITION,
  DATABASE_INSTANCE,
  DOMAIN_DEFINITION,
  GATEWAY_DEFINITION,
  EXPOSURE,
  SECRET_DEFINITION,
  SECRET_INSTANCE,
  OBSERVABILITY_DEFINITION,
  OBSERVABILITY_INSTANCE,
  APPLICATION,
  RELEASE,
  DELIVERY_POLICY,
  ROLLOUT,
];
