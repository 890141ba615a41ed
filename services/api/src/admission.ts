/**
 * Write-time admission: the checks an object must pass that depend on other objects, run inside
 * the write's transaction so what they read cannot change before the write commits.
 *
 * - An instance (ClusterInstance, WorkloadInstance) is checked against its definition, read with a
 *   share lock: a concurrent definition change (which holds the definition's row lock) waits for
 *   this write to commit, and then sees this instance.
 * - A definition change (ClusterDefinition, WorkloadDefinition) is refused 409 when it would put
 *   existing instances outside its rules, naming up to `MAX_NAMED` of them (the row lock the update
 *   already holds keeps new instances out while it checks).
 * - A WorkloadInstance that names no cluster gets its project's default cluster written into
 *   `spec.clusterRef`; a ClusterInstance's `defaultFor` may not overlap another's (409).
 * - A WorkloadInstance created without `spec.namespace` gets `derivedNamespace(project, name)`; an
 *   update without it keeps the stored one, and one that changes it is refused (422 `immutable`).
 * - A WorkloadDefinition's `spec.manifests` is parsed here, with the request limits, by the API's
 *   hostile-input-safe parser: this is the gate the workload-controller relies on to read it.
 *
 * - A WorkloadInstance's `spec.expose` host under its domain is a DNS name of at most 253
 *   characters and no other live instance's (409 naming it; serialised by an advisory lock).
 *
 * - An ObservabilityInstance is the only live one on its cluster, and at most one
 *   ObservabilityDefinition is the default (409 naming the other; serialised by an advisory lock);
 *   an instance's values overrides are paths its definition allows (422 naming the path).
 *
 * - A Project's members name roles it has (built-in or its own `spec.roles`), once per user; its
 *   own roles do not reuse a built-in or platform role's name, nor each other's.
 *
 * Kinds without a rule here pass untouched. Specs reaching here passed their kind's schema.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import {
  CLUSTER_DEFINITION,
  CLUSTER_INSTANCE,
  ConflictError,
  DATABASE_DEFINITION,
  DATABASE_INSTANCE,
  DELIVERY_POLICY,
  DOMAIN_DEFINITION,
  InputError,
  OBSERVABILITY_DEFINITION,
  OBSERVABILITY_INSTANCE,
  PLATFORM_ROLES,
  PROJECT,
  PROJECT_ROLES,
  RELEASE,
  APPLICATION,
  WORKLOAD_DEFINITION,
  WORKLOAD_INSTANCE,
  isTugboatError,
} from '@tugboat/resource-model';
import { derivedNamespace, MAX_MANIFEST_DOCUMENTS } from '@tugboat/workloads';
import type { Database } from './database-schema.js';
import {
  clusterDefinitionViolations,
  clusterInstanceViolations,
  databaseDefinitionViolations,
  databaseInstanceViolations,
  databaseUpdateViolations,
  observabilityInstanceViolations,
  workloadDatabaseViolations,
  workloadDefinitionViolations,
  workloadInstanceViolations,
  type Violation,
} from './guardrail-rules.js';
import { cloneJson, isJsonObject, type JsonObject } from './json-value.js';
import { parseYamlDocuments } from './parse-yaml-documents.js';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './request-limits.js';
import { memoInTx } from './tx-memo.js';

type Reader = Kysely<Database> | Transaction<Database>;

/** How many offending instances a refused definition change names. */
export const MAX_NAMED = 10;

/** Serialises writes that set `defaultFor`, so two clusters cannot both become a project's default. */
const DEFAULT_CLUSTER_LOCK = sql`pg_advisory_xact_lock(hashtext('tugboat:default-cluster'))`;
/** Serialises writes that expose a workload, so two cannot both claim one hostname. */
const EXPOSED_HOST_LOCK = sql`pg_advisory_xact_lock(hashtext('tugboat:exposed-host'))`;
/** Serialises writes of observability stacks and their default definition (one stack per cluster, one default). */
const OBSERVABILITY_LOCK = sql`pg_advisory_xact_lock(hashtext('tugboat:observability'))`;
/** The longest DNS name (without its trailing dot). */
const MAX_DNS_NAME = 253;

export interface AdmissionRequest {
  /** The object's kind name (`WorkloadInstance` …). */
  kind: string;
  project: string;
  name: string;
  /** The spec to write, in clear, valid for the kind's schema. */
  spec: JsonObject;
  /** The stored spec when this is an update. */
  current?: JsonObject;
}

export interface Admission {
  /**
   * Checks an object about to be written and returns the spec to write (the same object when
   * nothing was filled in). Throws 422 naming the field and the rule, or 409 for a taken default.
   * `reader` is the write's transaction; a create with nothing to resolve passes the database,
   * as only self-contained checks (a definition's own defaults) apply to it.
   */
  admit(reader: Reader, request: AdmissionRequest): Promise<JsonObject>;
  /** Whether admitting this create reads other objects although it references none (it must then run in the write's transaction). */
  readsOthers(kind: string, spec: JsonObject): boolean;
  /** Refuses (409) a definition's new spec when existing instances of it would break its rules. */
  checkDefinitionChange(tx: Transaction<Database>, request: { kind: string; uid: string; name: string; spec: JsonObject }): Promise<void>;
}

export interface AdmissionOptions {
  /** Bounds on parsing a definition's `spec.manifests` (the API's request limits). */
  limits?: Pick<RequestLimits, 'maxDepth' | 'maxAliases'>;
}

/**
 * A definition kind, the instance kind that references it and how an instance is judged.
 * `documents` are what `parse` made of the definition (a WorkloadDefinition's manifests).
 */
interface DefinitionRules {
  instanceKind: string;
  instanceRules(spec: JsonObject, definition: JsonObject, definitionName: string, documents?: readonly unknown[], instanceName?: string): Violation[];
  ownRules(definition: JsonObject, documents?: readonly unknown[]): Violation[];
  /** The definition's embedded documents; throws 422 naming the field and the document. */
  parse?(definition: JsonObject): readonly unknown[] | undefined;
}

/** How many parsed manifests texts are kept: a definition is read by every write of its instances. */
const PARSED_MANIFESTS_KEPT = 16;
const INSTANCE_DEFINITION: Record<string, string> = {
  [CLUSTER_INSTANCE.kind]: CLUSTER_DEFINITION.kind,
  [WORKLOAD_INSTANCE.kind]: WORKLOAD_DEFINITION.kind,
  [DATABASE_INSTANCE.kind]: DATABASE_DEFINITION.kind,
  [OBSERVABILITY_INSTANCE.kind]: OBSERVABILITY_DEFINITION.kind,
};

function refuse(violations: Violation[]): never {
  throw new InputError(violations.map((v) => `${v.path}: ${v.message}`).join('; '), { status: 422, details: violations });
}

/**
 * A WorkloadInstance's namespace: derived from project and name on create when not given; on an
 * update, the stored one when not given, and never another (the objects live there).
 */
function withNamespace(request: AdmissionRequest, spec: JsonObject): JsonObject {
  const given = spec['namespace'];
  const stored = request.current?.['namespace'];
  if (typeof stored === 'string') {
    if (given === undefined) return { ...spec, namespace: stored };
    if (given !== stored) {
      refuse([{ path: 'spec.namespace', rule: 'immutable', message: `is ${stored} and cannot change: delete the instance and create it again to move it to ${String(given)}` }]);
    }
    return spec;
  }
  return given === undefined ? { ...spec, namespace: derivedNamespace(request.project, request.name) } : spec;
}

function refName(spec: JsonObject, field: string): string | undefined {
  const value = spec[field];
  return isJsonObject(value) && typeof value['name'] === 'string' ? value['name'] : undefined;
}

export function createAdmission(options: AdmissionOptions = {}): Admission {
  const limits = { ...DEFAULT_REQUEST_LIMITS, ...options.limits, maxDocuments: MAX_MANIFEST_DOCUMENTS };
  const parsedManifests = new Map<string, readonly unknown[]>();

  /**
   * The documents of a WorkloadDefinition's `spec.manifests`, as the API's parser reads them (a
   * YAML error is a 422 on `spec.manifests` naming the document). Empty documents are kept, so a
   * document's number in a message is its place in the text. Parsed once per text: every write of
   * an instance reads its definition.
   */
  function workloadManifests(definition: JsonObject): readonly unknown[] | undefined {
    const text = definition['manifests'];
    if (typeof text !== 'string') return undefined;
    const kept = parsedManifests.get(text);
    if (kept) {
      parsedManifests.delete(text);
      parsedManifests.set(text, kept);
      return kept;
    }
    let documents: unknown[];
    try {
      documents = parseYamlDocuments(text, limits, { field: 'spec.manifests', documentPath: () => 'spec.manifests' });
    } catch (error) {
      if (!isTugboatError(error) || error.status >= 500) throw error;
      throw new InputError(error.message, { status: 422, details: error.details, cause: error });
    }
    parsedManifests.set(text, documents);
    if (parsedManifests.size > PARSED_MANIFESTS_KEPT) parsedManifests.delete(parsedManifests.keys().next().value!);
    return documents;
  }

  const DEFINITIONS: Record<string, DefinitionRules> = {
    [CLUSTER_DEFINITION.kind]: { instanceKind: CLUSTER_INSTANCE.kind, instanceRules: clusterInstanceViolations, ownRules: clusterDefinitionViolations },
    [DATABASE_DEFINITION.kind]: { instanceKind: DATABASE_INSTANCE.kind, instanceRules: databaseInstanceViolations, ownRules: databaseDefinitionViolations },
    [WORKLOAD_DEFINITION.kind]: {
      instanceKind: WORKLOAD_INSTANCE.kind,
      instanceRules: workloadInstanceViolations,
      ownRules: workloadDefinitionViolations,
      parse: workloadManifests,
    },
    [OBSERVABILITY_DEFINITION.kind]: { instanceKind: OBSERVABILITY_INSTANCE.kind, instanceRules: observabilityInstanceViolations, ownRules: () => [] },
  };

  /** A platform-wide object's spec, share-locked; `undefined` when absent (the reference check then answers). */
  async function readDefinition(reader: Reader, kind: string, name: string): Promise<JsonObject | undefined> {
    // Within an apply, read once per definition (tx-memo.ts); each caller gets its own copy.
    const row = await memoInTx(reader, kind, `spec\u0000\u0000${name}`, () =>
      reader.selectFrom('resources').select('spec').where('kind', '=', kind).where('project', '=', '').where('name', '=', name).forShare().executeTakeFirst(),
    );
    return row && isJsonObject(row.spec) ? cloneJson(row.spec) : undefined;
  }

  /** The cluster whose `defaultFor` has the project or `*` (at most one: `checkDefaultFor` keeps it so). */
  async function defaultCluster(reader: Reader, project: string): Promise<string | undefined> {
    // Within an apply, once per project until it writes a ClusterInstance (tx-memo.ts).
    const row = await memoInTx(reader, CLUSTER_INSTANCE.kind, `default\u0000${project}`, () =>
      reader
        .selectFrom('resources')
        .select('name')
        .where('kind', '=', CLUSTER_INSTANCE.kind)
        .where('project', '=', '')
        .where('deletion_requested_at', 'is', null)
        .where(sql<boolean>`coalesce(spec->'defaultFor', '[]'::jsonb) ?| ${sql.val([project, '*'])}::text[]`)
        .orderBy('name')
        .executeTakeFirst(),
    );
    return row?.name;
  }

  /** 409 when another live cluster is already the default for one of the projects this one claims. */
  async function checkDefaultFor(reader: Reader, name: string, spec: JsonObject): Promise<void> {
    const claimed = Array.isArray(spec['defaultFor']) ? spec['defaultFor'].filter((v): v is string => typeof v === 'string') : [];
    if (claimed.length === 0) return;
    await sql`select ${DEFAULT_CLUSTER_LOCK}`.execute(reader);
    const overlap = claimed.includes('*')
      ? sql<boolean>`jsonb_array_length(coalesce(spec->'defaultFor', '[]'::jsonb)) > 0`
      : sql<boolean>`coalesce(spec->'defaultFor', '[]'::jsonb) ?| ${sql.val([...claimed, '*'])}::text[]`;
    const others = await reader
      .selectFrom('resources')
      .select(['name', 'spec'])
      .where('kind', '=', CLUSTER_INSTANCE.kind)
      .where('project', '=', '')
      .where('name', '<>', name)
      .where('deletion_requested_at', 'is', null)
      .where(overlap)
      .orderBy('name')
      .execute();
    const other = others[0];
    if (!other) return;
    const theirs = isJsonObject(other.spec) && Array.isArray(other.spec['defaultFor']) ? other.spec['defaultFor'].filter((v): v is string => typeof v === 'string') : [];
    const shared = claimed.includes('*') || theirs.includes('*') ? (claimed.includes('*') ? theirs : claimed) : claimed.filter((p) => theirs.includes(p));
    throw new ConflictError(
      `spec.defaultFor: ClusterInstance "${other.name}" is already the default cluster for ${shared.map((p) => (p === '*' ? 'every project' : `project ${p}`)).join(', ')}; a project has at most one default cluster`,
      { details: [{ path: 'spec.defaultFor', rule: 'one-default', message: `ClusterInstance/_/${other.name} is already the default (defaultFor: ${theirs.join(', ')})` }] },
    );
  }

  /**
   * A WorkloadInstance's exposure: its hostname (`host` or the instance's name, under the domain)
   * a valid DNS name, and no other live instance's, under any domain (409 naming it). The domain missing is the
   * reference check's answer.
   */
  async function checkExposure(reader: Reader, request: AdmissionRequest, spec: JsonObject): Promise<void> {
    const expose = spec['expose'];
    if (!isJsonObject(expose)) return;
    const domainName = refName(expose, 'domainRef');
    if (domainName === undefined) return;
    const domain = await readDefinition(reader, DOMAIN_DEFINITION.kind, domainName);
    if (domain === undefined || typeof domain['domain'] !== 'string') return;
    const host = typeof expose['host'] === 'string' ? expose['host'] : request.name;
    const fqdn = `${host}.${domain['domain']}`;
    if (fqdn.length > MAX_DNS_NAME) {
      refuse([{ path: 'spec.expose.host', rule: 'maxLength', message: `${fqdn} is ${fqdn.length} characters; a DNS name has at most ${MAX_DNS_NAME}` }]);
    }
    await sql`select ${EXPOSED_HOST_LOCK}`.execute(reader);
    // The whole host name, whatever domain it is under: `a` under b.example.test and `a.b` under
    // example.test are one name (they shared a certificate whose issuer flipped between them).
    const other = await reader
      .selectFrom('resources as instance')
      .innerJoin('resources as domain', (join) =>
        join
          .on('domain.kind', '=', DOMAIN_DEFINITION.kind)
          .on('domain.project', '=', '')
          .on(sql<boolean>`domain.name = instance.spec->'expose'->'domainRef'->>'name'`),
      )
      .select(['instance.project', 'instance.name'])
      .where('instance.kind', '=', WORKLOAD_INSTANCE.kind)
      .where('instance.deletion_requested_at', 'is', null)
      .where(sql<boolean>`instance.spec ? 'expose'`)
      .where(sql<boolean>`lower(coalesce(instance.spec->'expose'->>'host', instance.name) || '.' || (domain.spec->>'domain')) = ${fqdn.toLowerCase()}`)
      .where((eb) => eb.or([eb('instance.project', '<>', request.project), eb('instance.name', '<>', request.name)]))
      .orderBy('instance.project')
      .orderBy('instance.name')
      .executeTakeFirst();
    if (other === undefined) return;
    throw new ConflictError(`spec.expose.host: ${fqdn} is already WorkloadInstance ${other.project}/${other.name}'s; choose another host`, {
      details: [{ path: 'spec.expose.host', rule: 'unique', message: `${fqdn} is exposed by WorkloadInstance/${other.project}/${other.name}` }],
    });
  }

  /** 409 when another live row of `kind` already holds what this one claims (`claim`: a jsonb condition on `spec`). */
  async function firstOtherClaim(reader: Reader, kind: string, name: string, claim: ReturnType<typeof sql<boolean>>): Promise<string | undefined> {
    await sql`select ${OBSERVABILITY_LOCK}`.execute(reader);
    const other = await reader
      .selectFrom('resources')
      .select('name')
      .where('kind', '=', kind)
      .where('project', '=', '')
      .where('name', '<>', name)
      .where('deletion_requested_at', 'is', null)
      .where(claim)
      .orderBy('name')
      .executeTakeFirst();
    return other?.name;
  }

  /** A cluster has at most one ObservabilityInstance (two stacks would fight over the same CRDs). */
  async function checkOneStackPerCluster(reader: Reader, request: AdmissionRequest, spec: JsonObject): Promise<void> {
    const cluster = refName(spec, 'clusterRef');
    if (cluster === undefined) return;
    const other = await firstOtherClaim(reader, OBSERVABILITY_INSTANCE.kind, request.name, sql<boolean>`spec->'clusterRef'->>'name' = ${cluster}`);
    if (other === undefined) return;
    throw new ConflictError(`spec.clusterRef: ClusterInstance ${cluster} already has ObservabilityInstance ${other}; a cluster has one metrics and logs stack`, {
      details: [{ path: 'spec.clusterRef', rule: 'unique', message: `ObservabilityInstance/_/${other} is on cluster ${cluster}` }],
    });
  }

  /** At most one ObservabilityDefinition is the default (the one clusters get on first use). */
  async function checkOneDefaultStack(reader: Reader, request: AdmissionRequest): Promise<void> {
    if (request.spec['default'] !== true) return;
    const other = await firstOtherClaim(reader, OBSERVABILITY_DEFINITION.kind, request.name, sql<boolean>`spec->>'default' = 'true'`);
    if (other === undefined) return;
    throw new ConflictError(`spec.default: ObservabilityDefinition ${other} is already the default; unset it there first`, {
      details: [{ path: 'spec.default', rule: 'one-default', message: `ObservabilityDefinition/_/${other} is the default` }],
    });
  }

  /** A Release is immutable, and names a workload component of an Application of its project. */
  async function checkRelease(reader: Reader, request: AdmissionRequest): Promise<void> {
    if (request.current !== undefined) {
      if (JSON.stringify(request.current) === JSON.stringify(request.spec)) return;
      refuse([{ path: 'spec', rule: 'immutable', message: 'a Release never changes (it is what was built): create a new Release' }]);
    }
    const appName = refName(request.spec, 'application');
    const app = await reader
      .selectFrom('resources')
      .select(['spec', 'deletion_requested_at'])
      .where('kind', '=', APPLICATION.kind)
      .where('project', '=', request.project)
      .where('name', '=', appName ?? '')
      .executeTakeFirst();
    if (!app || app.deletion_requested_at) {
      refuse([{ path: 'spec.application.name', rule: 'reference', message: `Application "${appName}" does not exist in project ${request.project}${app ? ' (it is being deleted)' : ''}` }]);
    }
    const workloads = ((app.spec as { workloads?: Array<{ name: string }> }).workloads ?? []).map((w) => w.name);
    const component = request.spec['component'];
    if (!workloads.includes(String(component))) {
      refuse([{ path: 'spec.component', rule: 'component', message: `"${String(component)}" is not a workload of Application ${appName} (${workloads.join(', ') || 'it has none'})` }]);
    }
  }

  /** One DeliveryPolicy per tier, and a tier never requires itself. */
  async function checkOnePolicyPerTier(reader: Reader, request: AdmissionRequest): Promise<void> {
    const tier = String(request.spec['tier']);
    const requires = (request.spec['requires'] as { tier?: string } | undefined)?.tier;
    if (requires === tier) refuse([{ path: 'spec.requires.tier', rule: 'not-self', message: `tier ${tier} cannot require itself: name an earlier tier` }]);
    const other = await firstOtherClaim(reader, DELIVERY_POLICY.kind, request.name, sql<boolean>`spec->>'tier' = ${tier}`);
    if (other === undefined) return;
    throw new ConflictError(`spec.tier: DeliveryPolicy ${other} already says how tier ${tier} rolls out; change that one`, {
      details: [{ path: 'spec.tier', rule: 'unique', message: `DeliveryPolicy/_/${other} is for tier ${tier}` }],
    });
  }

  async function admitInstance(reader: Reader, request: AdmissionRequest, definitionKind: string): Promise<JsonObject> {
    let spec = request.spec;
    if (request.kind === WORKLOAD_INSTANCE.kind && spec['clusterRef'] === undefined) {
      // An update that leaves the cluster out keeps the one it has: re-applying the same file must
      // not move a workload because the project's default changed since.
      const kept = request.current?.['clusterRef'];
      const cluster = isJsonObject(kept) ? refName(request.current!, 'clusterRef') : await defaultCluster(reader, request.project);
      if (cluster === undefined) {
        refuse([{ path: 'spec.clusterRef', rule: 'required', message: `names no cluster, and no ClusterInstance is the default for project ${request.project} (spec.defaultFor)` }]);
      }
      spec = { ...spec, clusterRef: { name: cluster } };
    }
    if (request.kind === WORKLOAD_INSTANCE.kind) {
      spec = withNamespace(request, spec);
      const duplicated = workloadDatabaseViolations(spec);
      if (duplicated.length > 0) refuse(duplicated);
      await checkExposure(reader, request, spec);
    }
    if (request.kind === CLUSTER_INSTANCE.kind) await checkDefaultFor(reader, request.name, spec);
    if (request.kind === OBSERVABILITY_INSTANCE.kind) await checkOneStackPerCluster(reader, request, spec);
    if (request.kind === DATABASE_INSTANCE.kind && request.current !== undefined) {
      const refused = databaseUpdateViolations(spec, request.current);
      if (refused.length > 0) refuse(refused);
    }
    const definitionName = refName(spec, 'definitionRef');
    if (definitionName === undefined) return spec;
    const definition = await readDefinition(reader, definitionKind, definitionName);
    if (definition === undefined) return spec;
    const rules = DEFINITIONS[definitionKind]!;
    const violations = rules.instanceRules(spec, definition, definitionName, rules.parse?.(definition), request.name);
    if (violations.length > 0) refuse(violations);
    return spec;
  }

  return {
    readsOthers(kind, spec) {
      return (kind === OBSERVABILITY_DEFINITION.kind && spec['default'] === true) || kind === DELIVERY_POLICY.kind;
    },

    async admit(reader, request) {
      if (request.kind === PROJECT.kind) {
        const violations = projectRules(request.spec);
        if (violations.length > 0) refuse(violations);
        return request.spec;
      }
      const definitionKind = INSTANCE_DEFINITION[request.kind];
      if (definitionKind !== undefined) return admitInstance(reader, request, definitionKind);
      const rules = DEFINITIONS[request.kind];
      if (rules) {
        const violations = rules.ownRules(request.spec, rules.parse?.(request.spec));
        if (violations.length > 0) refuse(violations);
      }
      if (request.kind === OBSERVABILITY_DEFINITION.kind) await checkOneDefaultStack(reader, request);
      if (request.kind === RELEASE.kind) await checkRelease(reader, request);
      if (request.kind === DELIVERY_POLICY.kind) await checkOnePolicyPerTier(reader, request);
      return request.spec;
    },

    async checkDefinitionChange(tx, request) {
      const rules = DEFINITIONS[request.kind];
      if (!rules) return;
      const instances = await tx
        .selectFrom('references as ref')
        .innerJoin('resources as r', 'r.uid', 'ref.from_uid')
        .select(['r.project', 'r.name', 'r.spec'])
        .where('ref.to_uid', '=', request.uid)
        .where('ref.path', '=', 'definitionRef')
        .where('r.kind', '=', rules.instanceKind)
        // An instance on its way out does not hold its definition back.
        .where('r.deletion_requested_at', 'is', null)
        .orderBy('r.project')
        .orderBy('r.name')
        .execute();
      const broken: Violation[] = [];
      let count = 0;
      const documents = rules.parse?.(request.spec);
      for (const instance of instances) {
        if (!isJsonObject(instance.spec)) continue;
        const violations = rules.instanceRules(instance.spec, request.spec, request.name, documents, instance.name);
        if (violations.length === 0) continue;
        count += 1;
        if (count > MAX_NAMED) continue;
        const at = `${rules.instanceKind}/${instance.project || '_'}/${instance.name}`;
        broken.push(...violations.map((v) => ({ path: `${at}:${v.path}`, rule: v.rule, message: v.message })));
      }
      if (count === 0) return;
      const named = broken.map((v) => `${v.path} (${v.rule}): ${v.message}`).join('; ');
      throw new ConflictError(
        `${request.kind} "${request.name}": the change would put ${count} existing ${rules.instanceKind}${count === 1 ? '' : 's'} outside its rules` +
          `${count > MAX_NAMED ? ` (the first ${MAX_NAMED} named)` : ''}: ${named}; change them first`,
        { details: broken },
      );
    },
  };
}

/** A Project's own consistency: every member's role exists, no user twice, no role name twice. */
function projectRules(spec: JsonObject): Violation[] {
  const violations: Violation[] = [];
  const roles = Array.isArray(spec['roles']) ? (spec['roles'] as Array<{ name: string }>) : [];
  const defined = new Set<string>(PROJECT_ROLES);
  roles.forEach((role, i) => {
    if ((PROJECT_ROLES as readonly string[]).includes(role.name) || (PLATFORM_ROLES as readonly string[]).includes(role.name)) {
      violations.push({ path: `spec.roles[${i}].name`, rule: 'reserved', message: `"${role.name}" is a built-in role` });
    } else if (defined.has(role.name)) violations.push({ path: `spec.roles[${i}].name`, rule: 'unique', message: `role "${role.name}" is defined twice` });
    defined.add(role.name);
  });
  const members = Array.isArray(spec['members']) ? (spec['members'] as Array<{ user: string; role: string }>) : [];
  const seen = new Set<string>();
  members.forEach((member, i) => {
    if (!defined.has(member.role)) {
      violations.push({ path: `spec.members[${i}].role`, rule: 'exists', message: `"${member.role}" is not a role of this project (viewer, editor, admin${roles.length ? `, ${roles.map((r) => r.name).join(', ')}` : ''})` });
    }
    if (seen.has(member.user)) violations.push({ path: `spec.members[${i}].user`, rule: 'unique', message: `user "${member.user}" is listed twice: give one role per user (a custom role can combine rules)` });
    seen.add(member.user);
  });
  return violations;
}
