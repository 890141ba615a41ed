/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of this API, generated from the kinds at the time of
 * the request, so a registered kind shows up with its own paths and its spec's JSON Schema and a
 * pipeline can generate a typed client. Every route `app.ts` serves is here (a test compares both
 * ways); per-kind routes are spelled out per plural, with the kind's schema in place of `spec`.
 */
import { API_VERSION, type KindDefinition } from '@tugboat/resource-model';

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown>;
type PathItem = Partial<Record<'get' | 'put' | 'post' | 'patch' | 'delete', Operation>>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Schema>; responses: Record<string, Schema>; parameters: Record<string, Schema> };
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string; description?: string }>;
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description: string): Schema => ({ description, content: { 'application/json': { schema } } });
const errors = (...statuses: number[]): Record<string, Schema> =>
  Object.fromEntries(statuses.map((status) => [String(status), { $ref: `#/components/responses/Error${status}` }]));
const query = (name: string, schema: Schema, description: string, required = false): Schema => ({ name, in: 'query', required, description, schema });
const pathParam = (name: string, description: string, schema: Schema = { type: 'string' }): Schema => ({ name, in: 'path', required: true, description, schema });

const ERROR_STATUSES: Record<number, string> = {
  400: 'The request is malformed (bad query parameter, body that is not JSON)',
  401: 'No valid bearer token',
  403: 'The identity may not do this',
  404: 'No such object, kind or route',
  409: 'A stale resourceVersion, a name taken, a delete blocked by dependents, or a suspended object',
  410: 'The watch cursor is older than what the stream keeps: re-list, then watch from the list cursor',
  413: 'The body is larger than the API accepts',
  422: 'The input breaks a rule; `details` name each field and rule',
  503: 'The API is starting, or the database or NATS is unreachable',
};

function sharedSchemas(): Record<string, Schema> {
  const labels = { type: 'object', additionalProperties: { type: 'string' } };
  const fieldChange = {
    type: 'object',
    required: ['path', 'op'],
    properties: { path: { type: 'string' }, op: { enum: ['add', 'remove', 'replace'] }, from: {}, to: {} },
  };
  return {
    ErrorDetail: { type: 'object', required: ['path', 'rule'], properties: { path: { type: 'string' }, rule: { type: 'string' }, message: { type: 'string' } } },
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message', 'details'],
          properties: {
            code: { enum: ['InvalidInput', 'Unauthenticated', 'Forbidden', 'NotFound', 'Conflict', 'Gone', 'PayloadTooLarge', 'Terminal', 'Unavailable', 'Internal'] },
            message: { type: 'string' },
            details: { type: 'array', items: ref('ErrorDetail') },
          },
        },
      },
    },
    Labels: labels,
    ObjectMetadata: {
      type: 'object',
      required: ['name', 'project', 'uid', 'labels', 'generation', 'resourceVersion', 'finalizers', 'deletionRequestedAt', 'createdAt', 'updatedAt'],
      properties: {
        name: { type: 'string' },
        project: { type: 'string', description: "'' for platform-wide kinds" },
        uid: { type: 'string', format: 'uuid' },
        labels,
        generation: { type: 'integer' },
        resourceVersion: { type: 'string' },
        finalizers: { type: 'array', items: { type: 'string' } },
        deletionRequestedAt: { type: ['string', 'null'], format: 'date-time' },
        createdAt: { type: 'string', format: 'date-time' },
        updatedAt: { type: 'string', format: 'date-time' },
        ownerReferences: { type: 'array', items: { type: 'object', properties: { kind: { type: 'string' }, name: { type: 'string' }, uid: { type: 'string' } } } },
        suspended: { type: 'boolean', description: 'Present (true) while no reconciles happen' },
      },
    },
    InputMetadata: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
        project: { type: 'string' },
        labels,
        resourceVersion: { type: 'string', description: 'On update: the version the change is based on (409 when stale)' },
        ownerReferences: { type: 'array', items: { type: 'object', required: ['kind', 'name'], properties: { kind: { type: 'string' }, name: { type: 'string' } } } },
      },
    },
    Condition: {
      type: 'object',
      required: ['type', 'status'],
      properties: {
        type: { type: 'string' },
        status: { enum: ['True', 'False', 'Unknown'] },
        reason: { type: 'string' },
        message: { type: 'string' },
        lastTransitionTime: { type: 'string', format: 'date-time' },
        observedGeneration: { type: 'integer' },
      },
    },
    Status: {
      type: 'object',
      properties: {
        observedGeneration: { type: 'integer', minimum: 0 },
        phase: { enum: ['Pending', 'Progressing', 'Ready', 'Degraded', 'Failed', 'Deleting'] },
        conditions: { type: 'array', items: ref('Condition') },
        outputs: { type: 'object' },
        definitionGeneration: { type: 'integer', minimum: 0 },
      },
    },
    StatusInput: {
      type: 'object',
      required: ['status'],
      properties: { metadata: { type: 'object', properties: { resourceVersion: { type: 'string' } } }, status: ref('Status') },
    },
    Resource: {
      type: 'object',
      description: 'Any object (its spec as its kind defines it)',
      required: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
      properties: { apiVersion: { const: API_VERSION }, kind: { type: 'string' }, metadata: ref('ObjectMetadata'), spec: { type: 'object' }, status: ref('Status') },
    },
    ResourceInput: {
      type: 'object',
      required: ['kind', 'metadata', 'spec'],
      properties: { apiVersion: { const: API_VERSION }, kind: { type: 'string' }, metadata: ref('InputMetadata'), spec: { type: 'object' } },
    },
    KindDefinition: {
      type: 'object',
      required: ['kind', 'plural', 'singular', 'shortNames', 'scope', 'controller', 'schema', 'references', 'secretFields'],
      properties: {
        kind: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]{0,62}$' },
        plural: { type: 'string' },
        singular: { type: 'string' },
        shortNames: { type: 'array', items: { type: 'string' } },
        scope: { enum: ['Project', 'Platform'] },
        controller: { type: 'string' },
        schema: { type: 'object', description: 'JSON Schema of spec' },
        references: { type: 'array', items: { type: 'object', required: ['path', 'kind'], properties: { path: { type: 'string' }, kind: { type: 'string' }, required: { type: 'boolean' } } } },
        secretFields: { type: 'array', items: { type: 'string' } },
        secretReaders: { type: 'array', items: { type: 'string' }, description: 'Controllers besides the owner that may read the secret fields (an explicit, audited grant)' },
        builtIn: { type: 'boolean' },
      },
    },
    Identity: {
      type: 'object',
      required: ['name', 'type'],
      properties: { name: { type: 'string' }, type: { enum: ['user', 'controller'] }, controller: { type: 'string' } },
    },
    TokenInput: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      description: 'type, or controller alone for a controller identity; expiresIn or expiresAt (1 minute to 365 days ahead), or neither for a token that does not expire',
      properties: {
        name: { type: 'string' },
        type: { enum: ['user', 'controller'] },
        controller: { type: 'string' },
        expiresIn: { type: 'string', pattern: '^\\d{1,6}[mhd]$', description: 'e.g. 90m, 12h, 30d' },
        expiresAt: { type: 'string', format: 'date-time' },
      },
    },
    CreatedToken: {
      type: 'object',
      required: ['token', 'identity', 'expiresAt'],
      properties: { token: { type: 'string' }, identity: ref('Identity'), expiresAt: { type: ['string', 'null'], format: 'date-time' } },
    },
    TokenSummary: {
      type: 'object',
      required: ['name', 'type', 'controller', 'createdAt', 'expiresAt', 'lastUsedAt', 'revokedAt'],
      properties: {
        name: { type: 'string' },
        type: { enum: ['user', 'controller'] },
        controller: { type: ['string', 'null'] },
        createdAt: { type: 'string', format: 'date-time' },
        expiresAt: { type: ['string', 'null'], format: 'date-time' },
        lastUsedAt: { type: ['string', 'null'], format: 'date-time', description: 'Recorded at most once a minute' },
        revokedAt: { type: ['string', 'null'], format: 'date-time' },
      },
    },
    AuditRecord: {
      type: 'object',
      required: ['id', 'at', 'actor', 'actorType', 'token', 'action', 'kind', 'project', 'name', 'outcome', 'status', 'requestId', 'source', 'detail'],
      description: 'One mutation, secret read, or refused or failed attempt (written in the transaction of the change it records)',
      properties: {
        id: { type: 'string', description: 'Increasing in the order records were written' },
        at: { type: 'string', format: 'date-time' },
        actor: { type: 'string' },
        actorType: { type: 'string' },
        token: { type: ['string', 'null'], description: 'The presented token; null for the bootstrap admin' },
        action: { type: 'string' },
        kind: { type: ['string', 'null'] },
        project: { type: ['string', 'null'], description: 'null outside projects' },
        name: { type: ['string', 'null'] },
        outcome: { enum: ['success', 'denied', 'failed'] },
        status: { type: 'integer' },
        requestId: { type: ['string', 'null'] },
        source: { type: ['string', 'null'], description: "The caller's address" },
        detail: { type: ['object', 'null'] },
      },
    },
    SecretKeyStatus: {
      type: 'object',
      required: ['current', 'keys', 'unknown'],
      description: 'Stored secret values per key id, as the answering replica sees them',
      properties: {
        current: { type: 'string', description: 'The key id new values are sealed with' },
        keys: {
          type: 'array',
          description: "The keys this replica was given, the current one first; an old key with 0 values can be dropped",
          items: { type: 'object', required: ['id', 'current', 'values'], properties: { id: { type: 'string' }, current: { type: 'boolean' }, values: { type: 'integer', minimum: 0 } } },
        },
        unknown: {
          type: 'array',
          description: 'Key ids stored values name that this replica was not given',
          items: { type: 'object', required: ['id', 'values'], properties: { id: { type: 'string' }, values: { type: 'integer', minimum: 0 } } },
        },
      },
    },
    EventInput: {
      type: 'object',
      required: ['type', 'reason', 'message'],
      additionalProperties: false,
      properties: { type: { enum: ['Normal', 'Warning'] }, reason: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]{0,127}$' }, message: { type: 'string', maxLength: 4096 } },
    },
    Event: {
      type: 'object',
      required: ['type', 'reason', 'message', 'count', 'firstSeen', 'lastSeen', 'source'],
      properties: {
        type: { enum: ['Normal', 'Warning'] },
        reason: { type: 'string' },
        message: { type: 'string' },
        count: { type: 'integer' },
        firstSeen: { type: 'string', format: 'date-time' },
        lastSeen: { type: 'string', format: 'date-time' },
        source: { type: 'string' },
      },
    },
    EventList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Event') } } },
    Referrer: {
      type: 'object',
      required: ['kind', 'project', 'name', 'uid', 'path'],
      properties: { kind: { type: 'string' }, project: { type: 'string' }, name: { type: 'string' }, uid: { type: 'string' }, path: { type: 'string' } },
    },
    ReferrerList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Referrer') } } },
    DeleteResult: {
      type: 'object',
      required: ['deleted'],
      properties: { deleted: { type: 'boolean' }, object: ref('Resource') },
    },
    FieldChange: fieldChange,
    Revision: {
      type: 'object',
      required: ['revision', 'generation', 'cause', 'actor', 'at', 'labels', 'spec'],
      properties: {
        revision: { type: 'integer', description: 'The resourceVersion this change produced' },
        generation: { type: 'integer' },
        cause: { enum: ['spec', 'status', 'metadata', 'delete', 'reconcile'] },
        actor: { type: 'string' },
        at: { type: 'string', format: 'date-time' },
        labels,
        spec: { type: 'object', description: 'After the change, secrets redacted' },
        note: { type: 'string', description: 'What an operator control did' },
      },
    },
    RevisionList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Revision') } } },
    RevisionDiff: {
      type: 'object',
      required: ['from', 'to', 'diff'],
      properties: { from: { type: 'integer' }, to: { type: 'integer' }, diff: { type: 'array', items: ref('FieldChange') } },
    },
    ApplyRequest: {
      oneOf: [
        { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('ResourceInput') } } },
        { type: 'array', items: ref('ResourceInput') },
      ],
    },
    ApplyResult: {
      type: 'object',
      required: ['dryRun', 'results'],
      properties: {
        dryRun: { type: 'boolean' },
        results: {
          type: 'array',
          description: 'In the order the objects were (or would be) applied',
          items: {
            type: 'object',
            required: ['kind', 'project', 'name', 'action'],
            properties: {
              kind: { type: 'string' },
              project: { type: 'string' },
              name: { type: 'string' },
              action: { enum: ['created', 'updated', 'unchanged', 'blocked', 'deleted', 'pending'] },
              generation: { type: 'integer' },
              diff: { type: 'array', items: ref('FieldChange') },
              reasons: { type: 'array', items: ref('ErrorDetail') },
              owner: { type: 'string', description: 'On an object an Application owns: `Application/<name>`' },
              component: { type: 'string' },
              cluster: { type: 'string' },
              spec: { type: 'object', description: 'The spec its expansion writes (secrets redacted)' },
              waitsFor: {
                type: 'array',
                items: { type: 'string' },
                description: 'A deleted database or secret goes once these workloads are gone; a migrating workload once this replacement is Ready',
              },
              migratingTo: { type: 'string', description: 'A deleted workload moving to another cluster: kept until this replacement is Ready' },
              rollout: { type: 'string', description: 'On a pending change (a tier that rolls out on approval): the Rollout that holds it' },
              pendingAction: { enum: ['created', 'updated', 'deleted'], description: 'On a pending change: what it does once approved' },
            },
          },
        },
      },
    },
  };
}

function kindSchemas(kind: KindDefinition): Record<string, Schema> {
  const secrets = kind.secretFields.length > 0 ? ` Secret fields (${kind.secretFields.join(', ')}) read as "<redacted>"; sending that back keeps the stored value.` : '';
  return {
    [`${kind.kind}Spec`]: { ...kind.schema, description: `spec of ${kind.kind}.${secrets}` },
    [kind.kind]: {
      type: 'object',
      required: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
      properties: { apiVersion: { const: API_VERSION }, kind: { const: kind.kind }, metadata: ref('ObjectMetadata'), spec: ref(`${kind.kind}Spec`), status: ref('Status') },
    },
    [`${kind.kind}Input`]: {
      type: 'object',
      required: ['metadata', 'spec'],
      properties: {
        apiVersion: { const: API_VERSION },
        kind: { const: kind.kind },
        metadata: ref('InputMetadata'),
        spec: ref(`${kind.kind}Spec`),
        status: { description: 'Ignored (status is written through /status)' },
      },
    },
    [`${kind.kind}Patch`]: {
      type: 'object',
      description: 'RFC 7386 merge patch of labels and spec',
      properties: { metadata: { type: 'object', properties: { labels: { type: 'object', additionalProperties: { type: ['string', 'null'] } }, resourceVersion: { type: 'string' } } }, spec: { type: 'object' } },
    },
    [`${kind.kind}List`]: {
      type: 'object',
      required: ['items', 'metadata'],
      properties: {
        items: { type: 'array', items: ref(kind.kind) },
        metadata: { type: 'object', properties: { continue: { type: 'string' }, cursor: { type: 'string', description: 'Watch from here to see every change after this list' } } },
      },
    },
  };
}

function kindPaths(kind: KindDefinition): Record<string, PathItem> {
  const base = `/v1/${kind.plural}`;
  const one = `${base}/{name}`;
  const K = kind.kind;
  // `an Application`, `a Project`: the summaries read as sentences.
  const aK = `${/^[AEIOU]/.test(K) ? 'an' : 'a'} ${K}`;
  const tags = [K];
  const projectScoped = kind.scope === 'Project';
  const objectParams = [
    pathParam('name', `Name of the ${K}`),
    ...(projectScoped ? [query('project', { type: 'string' }, 'Project of the object', true)] : []),
  ];
  const op = (id: string, summary: string, extra: Operation): Operation => ({ operationId: `${id}${K}`, summary, tags, ...extra });
  const object = json(ref(K), `The ${K}`);
  const objectErrors = errors(400, 401, 403, 404, 422, 503);
  return {
    [base]: {
      get: op('list', `List ${kind.plural}`, {
        parameters: [
          ...(projectScoped ? [query('project', { type: 'string' }, 'Only this project (all when absent)')] : []),
          query('labelSelector', { type: 'string' }, 'a=b,c!=d,e,!f'),
          query('limit', { type: 'integer', minimum: 1, maximum: 1000 }, 'Page size (default 100)'),
          query('continue', { type: 'string' }, 'The previous page’s metadata.continue'),
        ],
        responses: { 200: json(ref(`${K}List`), 'One page, ordered by (project, name)'), ...errors(400, 401, 403, 404, 503) },
      }),
      post: op('create', `Create ${aK}`, {
        requestBody: { required: true, content: { 'application/json': { schema: ref(`${K}Input`) } } },
        responses: { 201: json(ref(K), 'Created'), ...errors(400, 401, 403, 404, 409, 413, 422, 503) },
      }),
    },
    [one]: {
      get: op('read', `Read ${aK}`, { parameters: objectParams, responses: { 200: object, ...objectErrors } }),
      put: op('replace', `Replace labels and spec of ${aK}`, {
        parameters: [...objectParams, { name: 'If-Match', in: 'header', required: false, schema: { type: 'string' }, description: '"<resourceVersion>"' }],
        requestBody: { required: true, content: { 'application/json': { schema: ref(`${K}Input`) } } },
        responses: { 200: object, ...errors(400, 401, 403, 404, 409, 413, 422, 503) },
      }),
      patch: op('patch', `Merge-patch labels and spec of ${aK}`, {
        parameters: [...objectParams, { name: 'If-Match', in: 'header', required: false, schema: { type: 'string' }, description: '"<resourceVersion>"' }],
        requestBody: {
          required: true,
          content: { 'application/merge-patch+json': { schema: ref(`${K}Patch`) }, 'application/json': { schema: ref(`${K}Patch`) } },
        },
        responses: { 200: object, ...errors(400, 401, 403, 404, 409, 413, 422, 503) },
      }),
      delete: op('delete', `Delete ${aK}`, {
        parameters: [...objectParams, query('cascade', { type: 'boolean' }, 'Delete the objects that reference it first')],
        responses: {
          200: json({ type: 'object', required: ['deleted'], properties: { deleted: { const: true } } }, 'Deleted'),
          202: json(ref(K), 'Deletion requested; finalizers remain'),
          ...errors(400, 401, 403, 404, 409, 503),
        },
      }),
    },
    [`${one}/status`]: {
      put: op('writeStatus', `Write the status of ${aK} (its controller, ${kind.controller}, only)`, {
        parameters: objectParams,
        requestBody: { required: true, content: { 'application/json': { schema: ref('StatusInput') } } },
        responses: { 200: object, ...errors(400, 401, 403, 404, 409, 422, 503) },
      }),
    },
    [`${one}/finalizers/{finalizer}`]: {
      delete: op('removeFinalizer', `Remove a finalizer of ${aK} (by its controller; force=true by the admin)`, {
        parameters: [...objectParams, pathParam('finalizer', 'The finalizer (a controller name)'), query('force', { type: 'boolean' }, 'Admin only: remove another controller’s finalizer')],
        responses: { 200: json(ref('DeleteResult'), 'Removed (or absent)'), ...objectErrors },
      }),
    },
    [`${one}/secrets`]: {
      get: op('readSecrets', `Read the secret fields of ${aK} (controllers only)`, {
        parameters: objectParams,
        responses: { 200: json({ type: 'object', additionalProperties: true }, 'Secret values by dotted path'), ...objectErrors },
      }),
    },
    [`${one}/events`]: {
      get: op('listEvents', `Events of ${aK}`, { parameters: objectParams, responses: { 200: json(ref('EventList'), 'Newest first'), ...objectErrors } }),
      post: op('recordEvent', `Record an event on ${aK}`, {
        parameters: objectParams,
        requestBody: { required: true, content: { 'application/json': { schema: ref('EventInput') } } },
        responses: { 201: json(ref('Event'), 'Recorded (a repeat raises count)'), ...objectErrors },
      }),
    },
    [`${one}/referrers`]: {
      get: op('listReferrers', `Objects whose references point at this ${K}`, { parameters: objectParams, responses: { 200: json(ref('ReferrerList'), 'Referrers'), ...objectErrors } }),
    },
    [`${one}/revisions`]: {
      get: op('listRevisions', `History of ${aK}`, { parameters: objectParams, responses: { 200: json(ref('RevisionList'), 'Newest first'), ...objectErrors } }),
    },
    [`${one}/revisions/diff`]: {
      get: op('diffRevisions', `Field diff between two revisions of ${aK}`, {
        parameters: [...objectParams, query('from', { type: 'integer' }, 'Older revision', true), query('to', { type: 'integer' }, 'Newer revision (default the newest)')],
        responses: { 200: json(ref('RevisionDiff'), 'The diff'), ...objectErrors },
      }),
    },
    [`${one}/revisions/{revision}`]: {
      get: op('readRevision', `One revision of ${aK}`, {
        parameters: [...objectParams, pathParam('revision', 'Revision number', { type: 'integer' })],
        responses: { 200: json(ref('Revision'), 'The revision'), ...objectErrors },
      }),
    },
    [`${one}/suspend`]: {
      post: op('suspend', `Suspend ${aK}: no reconciles until resumed`, { parameters: objectParams, responses: { 200: object, ...objectErrors } }),
    },
    [`${one}/resume`]: {
      post: op('resume', `Resume ${aK}: its controller reconciles it again`, { parameters: objectParams, responses: { 200: object, ...objectErrors } }),
    },
    [`${one}/reconcile`]: {
      post: op('reconcile', `Ask the controller to reconcile ${aK} now (even when Failed at its generation)`, {
        parameters: objectParams,
        responses: { 200: object, ...errors(400, 401, 403, 404, 409, 503) },
      }),
    },
    [`${one}/expand`]: {
      post: op('expand', `Expand an Application again onto its clusters as they are now (a ${K} that is no Application answers 409); dryRun answers the plan`, {
        parameters: [...objectParams, query('dryRun', { type: 'boolean' }, 'Answer the plan, write nothing')],
        responses: { 200: json(ref('ApplyResult'), 'What was (or would be) done to each object it owns'), ...errors(400, 401, 403, 404, 409, 422, 503) },
      }),
    },
    ...Object.fromEntries(
      (['approve', 'reject'] as const).map((action) => [
        `${one}/${action}`,
        {
          post: op(action, `${action === 'approve' ? 'Approve' : 'Reject'} a Rollout that waits for a decision (a ${K} that is no Rollout answers 409); 403 names the roles its tier's DeliveryPolicy lets decide`, {
            parameters: objectParams,
            requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { message: { type: 'string', maxLength: 1024 } } } } } },
            responses: {
              200: json({ type: 'object', required: ['rollout'], properties: { rollout: ref('Rollout'), results: { type: 'array', items: { type: 'object' }, description: 'As ApplyResult.results: what the approval wrote' } } }, 'The Rollout as decided (and, approved, what it wrote)'),
              ...errors(400, 401, 403, 404, 409, 422, 503),
            },
          }),
        },
      ]),
    ),
    [`${one}/undo`]: {
      post: op('undo', `Roll an Application's tiers back to the release they ran before, or a named one (a ${K} that is no Application answers 409): applied where the caller may approve, PendingApproval otherwise`, {
        parameters: objectParams,
        requestBody: {
          required: false,
          content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { tier: { type: 'string' }, release: { type: 'string' }, component: { type: 'string' } } } } },
        },
        responses: { 200: json({ type: 'object', required: ['rollouts'], properties: { rollouts: { type: 'array', items: ref('Rollout') }, results: { type: 'array', items: { type: 'object' }, description: 'As ApplyResult.results' } } }, 'The Rollouts the undo wrote'), ...errors(400, 401, 403, 404, 409, 422, 503) },
      }),
    },
  };
}

function fixedPaths(): Record<string, PathItem> {
  const open = { security: [] };
  const text = (description: string, type = 'text/plain') => ({ description, content: { [type]: { schema: { type: 'string' } } } });
  return {
    '/healthz': { get: { operationId: 'healthz', summary: 'Liveness', tags: ['operations'], ...open, responses: { 200: json({ type: 'object' }, 'Alive') } } },
    '/readyz': {
      get: { operationId: 'readyz', summary: 'Readiness (database migrated, NATS connected)', tags: ['operations'], ...open, responses: { 200: json({ type: 'object' }, 'Ready'), 503: json({ type: 'object' }, 'Not ready') } },
    },
    '/metrics': { get: { operationId: 'metrics', summary: 'Prometheus metrics', tags: ['operations'], ...open, responses: { 200: text('Prometheus text format') } } },
    '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', tags: ['discovery'], ...open, responses: { 200: json({ type: 'object' }, 'OpenAPI 3.1') } } },
    '/docs': { get: { operationId: 'docs', summary: 'This document, rendered for people', tags: ['discovery'], ...open, responses: { 200: text('An HTML page', 'text/html') } } },
    '/v1/whoami': { get: { operationId: 'whoami', summary: 'Who the token is', tags: ['identity'], responses: { 200: json(ref('Identity'), 'The identity'), ...errors(401, 503) } } },
    '/v1/tokens': {
      post: {
        operationId: 'createToken',
        summary: 'Create a token (admin); shown once',
        tags: ['identity'],
        requestBody: { required: true, content: { 'application/json': { schema: ref('TokenInput') } } },
        responses: { 201: json(ref('CreatedToken'), 'Created'), ...errors(400, 401, 403, 409, 422, 503) },
      },
      get: {
        operationId: 'listTokens',
        summary: 'Every token, revoked ones included (admin); never a token or its hash',
        tags: ['identity'],
        responses: { 200: json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('TokenSummary') } } }, 'The tokens, by name'), ...errors(401, 403, 503) },
      },
    },
    '/v1/tokens/{name}': {
      delete: {
        operationId: 'revokeToken',
        summary: 'Revoke a token (admin): it stops working within a second on every replica; the row stays, listed with revokedAt',
        tags: ['identity'],
        parameters: [pathParam('name', 'The token name')],
        responses: { 200: json(ref('TokenSummary'), 'Revoked (or already revoked: unchanged)'), ...errors(401, 403, 404, 422, 503) },
      },
    },
    '/v1/audit': {
      get: {
        operationId: 'listAudit',
        summary: 'The audit trail, newest first (platform roles: all; a project admin: its projects)',
        tags: ['identity'],
        parameters: [
          query('project', { type: 'string' }, 'Only records of this project'),
          query('identity', { type: 'string' }, 'Only what this identity did'),
          query('kind', { type: 'string' }, 'Only records about this kind (any of its names)'),
          query('action', { type: 'string' }, 'Only this action (create, update, patch, delete, readSecrets …)'),
          query('since', { type: 'string', format: 'date-time' }, 'Records at or after this time'),
          query('until', { type: 'string', format: 'date-time' }, 'Records before this time'),
          query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, 'Records per page'),
          query('continue', { type: 'string' }, "The previous page's metadata.continue"),
        ],
        responses: {
          200: json(
            { type: 'object', required: ['items', 'metadata'], properties: { items: { type: 'array', items: ref('AuditRecord') }, metadata: { type: 'object', properties: { continue: { type: 'string' } } } } },
            'A page of records',
          ),
          ...errors(400, 401, 403, 422, 503),
        },
      },
    },
    '/v1/admin/keys': {
      get: {
        operationId: 'secretKeyStatus',
        summary: 'Stored secret values per key id (admin): when an old key holds none, it can be dropped',
        tags: ['identity'],
        responses: { 200: json(ref('SecretKeyStatus'), 'Values per key'), ...errors(401, 403, 503) },
      },
    },
    '/v1/kinds': {
      get: {
        operationId: 'listKinds',
        summary: 'Discovery: every kind with its schema',
        tags: ['discovery'],
        responses: { 200: json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('KindDefinition') } } }, 'Kinds'), ...errors(401, 503) },
      },
      post: {
        operationId: 'registerKind',
        summary: 'Register a custom kind (admin)',
        tags: ['discovery'],
        requestBody: { required: true, content: { 'application/json': { schema: ref('KindDefinition') } } },
        responses: { 201: json(ref('KindDefinition'), 'Registered'), ...errors(400, 401, 403, 409, 422, 503) },
      },
    },
    '/v1/kinds/{kind}': {
      get: {
        operationId: 'readKind',
        summary: 'One kind (by kind, plural, singular or short name)',
        tags: ['discovery'],
        parameters: [pathParam('kind', 'Any name of the kind')],
        responses: { 200: json(ref('KindDefinition'), 'The kind'), ...errors(401, 404, 503) },
      },
      put: {
        operationId: 'applyKind',
        summary:
          'Register the kind, or update it (admin). A schema change must accept every stored object (409 names those it would refuse); controller, references and secretFields change only while no object exists; plural and scope never. Header tugboat-kind-action: created, updated or unchanged. Built-in kinds: 403',
        tags: ['discovery'],
        parameters: [pathParam('kind', 'The kind (PascalCase), as in the body')],
        requestBody: { required: true, content: { 'application/json': { schema: ref('KindDefinition') } } },
        responses: { 200: json(ref('KindDefinition'), 'Updated or unchanged'), 201: json(ref('KindDefinition'), 'Registered'), ...errors(400, 401, 403, 404, 409, 422, 503) },
      },
      delete: {
        operationId: 'deleteKind',
        summary: 'Delete a kind no object and no other kind uses (admin); 409 names what remains. Built-in kinds: 403',
        tags: ['discovery'],
        parameters: [pathParam('kind', 'Any name of the kind')],
        responses: { 200: json(ref('KindDefinition'), 'The deleted kind'), ...errors(401, 403, 404, 409, 503) },
      },
    },
    '/v1/apply': {
      post: {
        operationId: 'apply',
        summary: 'Create or update a bundle of objects in one transaction, in reference order',
        tags: ['apply'],
        parameters: [query('dryRun', { type: 'boolean' }, 'Answer the plan (diffs, what is blocked and why) and write nothing')],
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: ref('ApplyRequest') },
            'application/yaml': { schema: { type: 'string', description: 'Multi-document YAML, one object per document' } },
          },
        },
        responses: {
          200: json(ref('ApplyResult'), 'Applied (or, with dryRun, what would happen)'),
          ...errors(400, 401, 409, 413, 422, 503),
        },
      },
    },
    '/v1/watch': {
      get: {
        operationId: 'watch',
        summary: 'Server-sent events for changes of the chosen kinds, resumable from a cursor',
        tags: ['watch'],
        parameters: [
          query('kinds', { type: 'string' }, 'Comma-separated kind names'),
          query('project', { type: 'string' }, 'Only this project'),
          query('cursor', { type: 'string' }, 'Resume after this event id (also the Last-Event-ID header)'),
        ],
        responses: { 200: text('`event: change` messages with `id: <cursor>`; heartbeat comments', 'text/event-stream'), ...errors(400, 401, 404, 410, 503) },
      },
    },
  };
}

export function buildOpenApiDocument(kinds: readonly KindDefinition[]): OpenApiDocument {
  const sorted = [...kinds].sort((a, b) => a.kind.localeCompare(b.kind));
  const schemas: Record<string, Schema> = sharedSchemas();
  const paths: Record<string, PathItem> = fixedPaths();
  for (const kind of sorted) {
    Object.assign(schemas, kindSchemas(kind));
    Object.assign(paths, kindPaths(kind));
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tugboat API',
      version: 'v1',
      description:
        'The control plane’s REST API. Every request under /v1 carries `Authorization: Bearer <token>`. Objects of project-scoped kinds name their project with `?project=`. Generated from the kinds this server knows.',
    },
    security: [{ bearer: [] }],
    tags: [
      { name: 'discovery' },
      { name: 'identity' },
      { name: 'apply' },
      { name: 'watch' },
      { name: 'operations' },
      ...sorted.map((kind) => ({ name: kind.kind, description: `${kind.scope === 'Platform' ? 'Platform-wide' : 'Per project'}; owned by ${kind.controller}` })),
    ],
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Tugboat token (tug_…) or the admin token' } },
      responses: Object.fromEntries(Object.entries(ERROR_STATUSES).map(([status, description]) => [`Error${status}`, json(ref('Error'), description)])),
      parameters: {},
    },
  };
}
