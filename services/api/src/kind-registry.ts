/**
 * Kinds as data: the built-in kinds from `@tugboat/resource-model` plus the kinds registered at run
 * time (table `kinds`), each with a compiled validator for its `spec` (see `kind-schema.ts` for
 * what a schema may hold).
 *
 * Every replica keeps the kinds in memory. It learns of a registration, update or delete made
 * through another replica by polling `(count, max(version))` of the table: at once when a lookup
 * misses, and in the background at most every `reloadIntervalMs` when one hits (a hit never waits
 * on the database, since lookups run inside write transactions and PGlite has one connection).
 * A stored kind that can no longer be enforced (written before these rules, or edited by hand) is
 * logged and kept as unusable: its objects can be read and deleted, every write is refused.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import {
  BUILTIN_KINDS,
  ConflictError,
  ForbiddenError,
  InputError,
  NotFoundError,
  isDnsLabel,
  REFERENCE_PATH_SYNTAX,
  type ErrorDetail,
  type KindApplyResult,
  type KindDefinition,
} from '@tugboat/resource-model';
import { createAuditTrail, type Actor, type AuditTrail } from './audit-trail.js';
import type { Database } from './database-schema.js';
import { jsonb } from './database.js';
import { isJsonObject, jsonEqual } from './json-value.js';
import type { KindObjects } from './kind-objects.js';
import { createKindSchemaCompiler, declaredAt, FORBIDDEN_SEGMENTS, type KindSchemaCompiler, type SchemaProblem } from './kind-schema.js';

/** Path segments the API itself serves under `/v1`. */
const RESERVED_NAMES = new Set(['kinds', 'tokens', 'whoami', 'kind', 'token', 'apply', 'watch', 'admin', 'audit']);
/** Objects named in a refusal (blocking a delete, failing a new schema). */
const DEFAULT_MAX_REPORTED = 10;
const PATH_SYNTAX = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export interface RegisteredKind {
  definition: KindDefinition;
  validateSpec(spec: unknown): ErrorDetail[];
  /** Why the stored definition cannot be enforced; set only for such kinds (every write is refused). */
  unusable?: string;
}

/** What changed in the kinds this replica knows, by kind name. */
export interface KindChange {
  added: string[];
  changed: string[];
  removed: string[];
}

export type { KindApplyResult };

export interface KindRegistry {
  /** By kind, plural, singular or short name (case-insensitive); `undefined` when unknown. */
  get(name: string): Promise<RegisteredKind | undefined>;
  getOrThrow(name: string): Promise<RegisteredKind>;
  list(): Promise<readonly KindDefinition[]>;
  /** Registers a new kind (409 when its names are taken). */
  /** `actor` (here and below): who asks, as the audit record names them; `internal` without one. */
  register(input: unknown, actor?: Actor): Promise<KindDefinition>;
  /** Registers `input`, or updates the kind it names when the change is compatible with its stored objects. */
  apply(kind: string, input: unknown, actor?: Actor): Promise<KindApplyResult>;
  /** Removes a kind no object and no other kind uses. */
  delete(name: string, actor?: Actor): Promise<KindDefinition>;
  /**
   * Calls `listener` after the kinds known here changed (through this replica, or noticed from
   * another): the hook for caches of "unknown kind" answers. Returns the unsubscribe function.
   */
  onChange(listener: (change: KindChange) => void): () => void;
  /** Re-reads the kinds now if the table changed since the last read. */
  refresh(): Promise<void>;
}

export interface KindRegistryOptions {
  db: Kysely<Database>;
  /** Needed for updates and deletes (stored objects are checked); without it they answer 409. */
  objects?: KindObjects;
  logger?: Logger;
  /** How stale a hit may be before a background check of the table. Default 1000 ms. */
  reloadIntervalMs?: number;
  /** Objects named at most in a refusal. Default 10. */
  maxReported?: number;
  now?: () => number;
  /** Where registrations, updates and deletes record themselves, in their transaction. Default: a trail of its own. */
  audit?: AuditTrail;
}

interface Entry extends RegisteredKind {
  /** `kinds.version` of the row ('builtin' for built-in kinds). */
  version: string;
  schema?: Record<string, unknown>;
  /** While an update of the kind is being checked here: writes must pass the new schema too. */
  pending?: (spec: unknown) => ErrorDetail[];
}

interface ParsedKind {
  /** Absent when the names or scope are wrong (the kind cannot even be routed). */
  definition?: KindDefinition;
  problems: SchemaProblem[];
  validate?: (spec: unknown) => ErrorDetail[];
  /** The schema object handed to the compiler (to release it). */
  schema?: Record<string, unknown>;
}

export function createKindRegistry(options: KindRegistryOptions): KindRegistry {
  const { db, logger } = options;
  const audit = options.audit ?? createAuditTrail();
  const reloadIntervalMs = options.reloadIntervalMs ?? 1000;
  const maxReported = options.maxReported ?? DEFAULT_MAX_REPORTED;
  const now = options.now ?? Date.now;
  const compiler = createKindSchemaCompiler();
  const listeners = new Set<(change: KindChange) => void>();

  let byKind = new Map<string, Entry>();
  let byName = new Map<string, Entry>();
  /** `count:max(version)` of the table when it was last read. */
  let seenMark: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let syncing: Promise<void> | undefined;
  /** What `list` answered, for the `byKind` it was made from (a reload replaces the map). */
  let listed: { from: Map<string, Entry>; definitions: readonly KindDefinition[] } | undefined;

  for (const builtIn of BUILTIN_KINDS) {
    const parsed = parseKindDefinition(builtIn, compiler, { builtIn: true });
    // A built-in kind that breaks the rules is a bug in this repository: fail at once.
    if (!parsed.definition || !parsed.validate) throw new Error(`built-in kind ${builtIn.kind}: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    index({ definition: { ...parsed.definition, builtIn: true }, validateSpec: parsed.validate, version: 'builtin' }, byKind, byName);
  }

  async function readMark(executor: Kysely<Database> | Transaction<Database>): Promise<string> {
    const { rows } = await sql<{ n: string | number; v: string | number | null }>`select count(*) as n, max(version) as v from kinds`.execute(executor);
    return `${String(rows[0]?.n ?? 0)}:${String(rows[0]?.v ?? 0)}`;
  }

  /** Reads the table again when its mark moved; rebuilds the maps, reusing unchanged entries. */
  async function reload(): Promise<void> {
    const mark = await readMark(db);
    checkedAt = now();
    if (mark === seenMark) return;
    // The mark is read before the rows, so a change in between moves the mark again and is re-read.
    const rows = await db.selectFrom('kinds').select(['kind', 'definition', 'version']).orderBy('created_at').orderBy('kind').execute();
    const nextByKind = new Map<string, Entry>();
    const nextByName = new Map<string, Entry>();
    for (const entry of byKind.values()) if (entry.version === 'builtin') index(entry, nextByKind, nextByName);
    for (const row of rows) {
      const version = String(row.version);
      const previous = byKind.get(row.kind);
      if (previous && previous.version === version) {
        index(previous, nextByKind, nextByName);
        continue;
      }
      const entry = entryFromRow(row.kind, row.definition, version);
      if (!entry) continue;
      const clash = namesOf(entry.definition).find((name) => nextByName.has(name));
      if (clash !== undefined) {
        logger?.warn({ kind: row.kind, name: clash }, 'stored kind skipped: its name is used by another kind');
        continue;
      }
      index(entry, nextByKind, nextByName);
    }
    const change: KindChange = { added: [], changed: [], removed: [] };
    for (const [kind, entry] of nextByKind) {
      const before = byKind.get(kind);
      if (!before) change.added.push(kind);
      else if (before !== entry) change.changed.push(kind);
    }
    for (const [kind, entry] of byKind) {
      if (nextByKind.get(kind) !== entry && entry.schema) compiler.release(entry.schema);
      if (!nextByKind.has(kind)) change.removed.push(kind);
    }
    byKind = nextByKind;
    byName = nextByName;
    seenMark = mark;
    if (change.added.length + change.changed.length + change.removed.length > 0) {
      for (const listener of listeners) {
        try {
          listener(change);
        } catch (error) {
          logger?.error({ err: (error as Error).message }, 'kind change listener failed');
        }
      }
    }
  }

  /** A stored row as an entry: unusable when its schema breaks today's rules, skipped when it cannot be routed. */
  function entryFromRow(kind: string, stored: unknown, version: string): Entry | undefined {
    let parsed: ParsedKind;
    try {
      parsed = parseKindDefinition(stored, compiler, {});
    } catch (error) {
      parsed = { problems: [{ path: 'definition', rule: 'unreadable', message: (error as Error).message }] };
    }
    if (!parsed.definition || parsed.definition.kind !== kind) {
      logger?.error({ kind, problems: parsed.problems }, 'stored kind skipped: its definition cannot be read');
      return undefined;
    }
    if (!parsed.validate || parsed.problems.length > 0) {
      const reason = parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      logger?.error({ kind, problems: parsed.problems }, 'stored kind is unusable: writes of its objects are refused until it is fixed (PUT /v1/kinds/KIND) or deleted');
      if (parsed.schema) compiler.release(parsed.schema);
      return {
        definition: parsed.definition,
        unusable: reason,
        version,
        validateSpec: () => [{ path: 'spec', rule: 'unusable-kind', message: `the schema of kind ${kind} cannot be enforced (${reason}); an admin must fix or delete the kind` }],
      };
    }
    const validate = parsed.validate;
    const entry: Entry = {
      definition: parsed.definition,
      version,
      ...(parsed.schema ? { schema: parsed.schema } : {}),
      validateSpec(spec) {
        const problems = validate(spec);
        return problems.length > 0 || !entry.pending ? problems : entry.pending(spec);
      },
    };
    return entry;
  }

  /**
   * Single-flight check of the table; `force` ignores the interval. A caller that comes while a
   * check runs waits for it, whatever the interval says: `reload` marks the time when it starts, so
   * the interval alone would answer from the table as it was before (after a restart: the built-in
   * kinds only, and the access rules built from that list would hide every registered kind's objects).
   */
  function sync(force: boolean): Promise<void> {
    if (syncing) return syncing;
    if (!force && now() - checkedAt < reloadIntervalMs) return Promise.resolve();
    if (!syncing) {
      syncing = reload().finally(() => {
        syncing = undefined;
      });
    }
    return syncing;
  }

  async function get(name: string): Promise<RegisteredKind | undefined> {
    const key = name.toLowerCase();
    const found = byName.get(key);
    if (found) {
      if (now() - checkedAt >= reloadIntervalMs) {
        sync(false).catch((error: unknown) => logger?.warn({ err: (error as Error).message }, 'kinds reload failed'));
      }
      return found;
    }
    await sync(true);
    return byName.get(key);
  }

  async function getOrThrow(name: string): Promise<RegisteredKind> {
    const found = await get(name);
    if (!found) throw new NotFoundError(`unknown kind "${name}"`, { details: [{ path: 'kind', rule: 'unknown-kind' }] });
    return found;
  }

  /**
   * The checked definition and its validator, for the length of `use`: the entry this replica keeps
   * compiles its own when the table is read again, so this one is released after.
   */
  async function withParsed<T>(input: unknown, use: (definition: KindDefinition, validate: (spec: unknown) => ErrorDetail[]) => Promise<T>): Promise<T> {
    const parsed = parseKindDefinition(input, compiler, {});
    try {
      if (!parsed.definition || !parsed.validate || parsed.problems.length > 0) {
        throw new InputError(parsed.problems.map((d) => `${d.path}: ${d.message}`).join('; '), {
          status: 422,
          details: parsed.problems.map(({ path, rule }) => ({ path, rule })),
        });
      }
      return await use(parsed.definition, parsed.validate);
    } finally {
      if (parsed.schema) compiler.release(parsed.schema);
    }
  }

  /** Names unique across kinds (but `self`), references to known kinds. */
  function checkNamesAndReferences(definition: KindDefinition, self: string | undefined): void {
    for (const name of namesOf(definition)) {
      const taken = byName.get(name);
      if (taken && taken.definition.kind !== self) {
        throw new ConflictError(`"${name}" is already used by kind ${taken.definition.kind}`, {
          details: [{ path: taken.definition.kind === definition.kind ? 'kind' : 'plural', rule: 'unique' }],
        });
      }
    }
    definition.references.forEach((reference, i) => {
      if (reference.kind !== definition.kind && !byKind.has(reference.kind)) {
        throw new InputError(`references[${i}].kind: kind "${reference.kind}" is unknown`, { status: 422, details: [{ path: `references[${i}].kind`, rule: 'unknown-kind' }] });
      }
    });
  }

  async function register(input: unknown, actor?: Actor): Promise<KindDefinition> {
    return withParsed(input, (definition) => insert(definition, actor));
  }

  async function insert(definition: KindDefinition, actor: Actor | undefined): Promise<KindDefinition> {
    await sync(true);
    checkNamesAndReferences(definition, undefined);
    const inserted = await db.transaction().execute(async (tx) => {
      const row = await tx
        .insertInto('kinds')
        .values({ kind: definition.kind, plural: definition.plural, definition: jsonb(definition) })
        .onConflict((oc) => oc.doNothing())
        .returning('kind')
        .executeTakeFirst();
      if (row) await audit.record(tx, { action: 'registerKind', kind: definition.kind, status: 201, detail: { controller: definition.controller } }, audit.contextOf(actor));
      return row;
    });
    if (!inserted) throw new ConflictError(`kind ${definition.kind} is already registered`, { details: [{ path: 'kind', rule: 'unique' }] });
    await sync(true);
    return definition;
  }

  function builtInRefusal(kind: string, what: string): ForbiddenError {
    return new ForbiddenError(`kind ${kind} is built in and cannot be ${what}; register a kind of your own instead`, { details: [{ path: 'kind', rule: 'built-in' }] });
  }

  /** 409 naming up to `maxReported` objects of `kind`, or nothing when it has none. */
  async function refuseWhileObjects(tx: Transaction<Database>, kind: string, why: string, detailPath: string, rule: string): Promise<void> {
    if (!options.objects) throw new ConflictError(`kind ${kind}: ${why}, and this API cannot check its objects`, { details: [{ path: detailPath, rule }] });
    const { total, names } = await options.objects.sample(tx, kind, maxReported);
    if (total === 0) return;
    const more = total > names.length ? ` and ${total - names.length} more` : '';
    throw new ConflictError(`kind ${kind}: ${why} while ${total} object${total === 1 ? '' : 's'} of it exist: ${names.join(', ')}${more}`, {
      details: [{ path: detailPath, rule }, ...names.map((name) => ({ path: name, rule: 'exists' }))],
    });
  }

  /** 409 naming up to `maxReported` stored objects the new schema refuses, with why. */
  async function checkStoredSpecs(tx: Transaction<Database>, kind: string, validate: (spec: unknown) => ErrorDetail[]): Promise<void> {
    if (!options.objects) throw new ConflictError(`kind ${kind}: this API cannot check its stored objects`, { details: [{ path: 'schema', rule: 'incompatible' }] });
    const failures: Array<{ name: string; problems: ErrorDetail[] }> = [];
    let failing = 0;
    for await (const stored of options.objects.specs(tx, kind)) {
      const problems = validate(stored.spec);
      if (problems.length === 0) continue;
      failing += 1;
      if (failures.length < maxReported) failures.push({ name: stored.name, problems });
    }
    if (failing === 0) return;
    const more = failing > failures.length ? `; and ${failing - failures.length} more` : '';
    throw new ConflictError(
      `kind ${kind}: the new schema would refuse ${failing} stored object${failing === 1 ? '' : 's'}: ${failures
        .map((f) => `${f.name} (${f.problems.slice(0, 3).map((p) => `${p.path}: ${p.message ?? p.rule}`).join('; ')})`)
        .join(', ')}${more}`,
      { details: failures.flatMap((f) => f.problems.slice(0, 3).map((p) => ({ path: `${f.name}: ${p.path}`, rule: p.rule }))) },
    );
  }

  async function update(existing: Entry, definition: KindDefinition, validate: (spec: unknown) => ErrorDetail[], actor: Actor | undefined): Promise<KindApplyResult> {
    const kind = definition.kind;
    for (const field of ['plural', 'scope'] as const) {
      if (definition[field] !== existing.definition[field]) {
        throw new InputError(`${field}: cannot change (${existing.definition[field]} → ${definition[field]}); delete the kind and register it again`, {
          status: 422,
          details: [{ path: field, rule: 'immutable' }],
        });
      }
    }
    checkNamesAndReferences(definition, kind);
    // A write through this replica while stored objects are checked must suit both schemas, so it
    // cannot slip an object the new schema refuses past the check.
    existing.pending = validate;
    try {
      await runUpdate(existing, definition, validate, actor);
      // Until the new entry replaces this one.
      await sync(true);
    } finally {
      existing.pending = undefined;
    }
    return { action: 'updated', definition };
  }

  async function runUpdate(existing: Entry, definition: KindDefinition, validate: (spec: unknown) => ErrorDetail[], actor: Actor | undefined): Promise<void> {
    const kind = definition.kind;
    await db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('kinds').select(['version']).where('kind', '=', kind).forUpdate().executeTakeFirst();
      if (!row) throw new NotFoundError(`kind ${kind} was deleted meanwhile`, { details: [{ path: 'kind', rule: 'unknown-kind' }] });
      if (String(row.version) !== existing.version) throw new ConflictError(`kind ${kind} was changed meanwhile; apply again`, { details: [{ path: 'kind', rule: 'version' }] });
      // These decide how stored objects are laid out (finalizers, reference rows, sealed values).
      if (definition.controller !== existing.definition.controller) await refuseWhileObjects(tx, kind, 'controller cannot change', 'controller', 'immutable-while-objects');
      // Objects made before would keep (or lack) the finalizer the new setting says they should not.
      if ((definition.finalizer ?? true) !== (existing.definition.finalizer ?? true)) await refuseWhileObjects(tx, kind, 'finalizer cannot change', 'finalizer', 'immutable-while-objects');
      if (!jsonEqual(definition.references, existing.definition.references)) await refuseWhileObjects(tx, kind, 'references cannot change', 'references', 'immutable-while-objects');
      if (!jsonEqual(definition.secretFields, existing.definition.secretFields)) await refuseWhileObjects(tx, kind, 'secretFields cannot change', 'secretFields', 'immutable-while-objects');
      if (existing.unusable !== undefined || !jsonEqual(definition.schema, existing.definition.schema)) await checkStoredSpecs(tx, kind, validate);
      await tx
        .updateTable('kinds')
        .set({ definition: jsonb(definition), version: sql`nextval('kind_version_seq')`, updated_at: new Date() })
        .where('kind', '=', kind)
        .execute();
      await audit.record(tx, { action: 'updateKind', kind, detail: { controller: definition.controller } }, audit.contextOf(actor));
    });
  }

  return {
    get,
    getOrThrow,
    async list() {
      await sync(false);
      // Asked for by every request (the access rules' kind index): made again only when the table changed.
      if (listed?.from !== byKind) listed = { from: byKind, definitions: [...byKind.values()].map((k) => k.definition) };
      return listed.definitions;
    },
    register,
    async apply(kindName, input, actor) {
      if (isJsonObject(input) && input['kind'] !== undefined && input['kind'] !== kindName) {
        throw new InputError(`kind: the body names ${JSON.stringify(input['kind'])}, the path ${kindName}`, { status: 422, details: [{ path: 'kind', rule: 'match-path' }] });
      }
      return withParsed(isJsonObject(input) && input['kind'] === undefined ? { ...input, kind: kindName } : input, async (definition, validate) => {
        await sync(true);
        const existing = byKind.get(definition.kind);
        if (!existing) return { action: 'created', definition: await insert(definition, actor) };
        if (existing.version === 'builtin') throw builtInRefusal(definition.kind, 'changed');
        if (existing.unusable === undefined && jsonEqual(definition, existing.definition)) return { action: 'unchanged', definition: existing.definition };
        return update(existing, definition, validate, actor);
      });
    },
    async delete(name, actor) {
      await sync(true);
      const existing = byName.get(name.toLowerCase());
      if (!existing) throw new NotFoundError(`unknown kind "${name}"`, { details: [{ path: 'kind', rule: 'unknown-kind' }] });
      const kind = existing.definition.kind;
      if (existing.version === 'builtin') throw builtInRefusal(kind, 'deleted');
      const referrers = [...byKind.values()].filter((other) => other.definition.kind !== kind && other.definition.references.some((r) => r.kind === kind)).map((other) => other.definition.kind);
      if (referrers.length > 0) {
        throw new ConflictError(`kind ${kind} is referenced by kind${referrers.length === 1 ? '' : 's'} ${referrers.join(', ')}; delete or change those first`, {
          details: referrers.map((other) => ({ path: other, rule: 'references' })),
        });
      }
      await db.transaction().execute(async (tx) => {
        const row = await tx.selectFrom('kinds').select(['kind']).where('kind', '=', kind).forUpdate().executeTakeFirst();
        if (!row) throw new NotFoundError(`unknown kind "${name}"`, { details: [{ path: 'kind', rule: 'unknown-kind' }] });
        await refuseWhileObjects(tx, kind, 'cannot be deleted', 'kind', 'has-objects');
        await tx.deleteFrom('kinds').where('kind', '=', kind).execute();
        await audit.record(tx, { action: 'deleteKind', kind }, audit.contextOf(actor));
      });
      await sync(true);
      return existing.definition;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh: () => sync(true),
  };
}

function index(entry: Entry, byKind: Map<string, Entry>, byName: Map<string, Entry>): void {
  byKind.set(entry.definition.kind, entry);
  for (const name of namesOf(entry.definition)) byName.set(name, entry);
}

function namesOf(definition: KindDefinition): string[] {
  return [...new Set([definition.kind, definition.plural, definition.singular, ...definition.shortNames].map((n) => n.toLowerCase()))];
}

/**
 * Checks a kind definition (a request body, or a stored row) against every rule. The envelope
 * problems (names, scope, controller) leave `definition` unset; schema, secret-field and reference
 * problems leave `validate` unset; `problems` lists all of them.
 */
export function parseKindDefinition(input: unknown, compiler: KindSchemaCompiler, options: { builtIn?: boolean }): ParsedKind {
  const problems: SchemaProblem[] = [];
  const fail = (path: string, rule: string, message: string) => problems.push({ path, rule, message });
  if (!isJsonObject(input)) return { problems: [{ path: 'body', rule: 'type', message: 'must be a kind definition object' }] };

  const allowed = new Set(['kind', 'plural', 'singular', 'shortNames', 'scope', 'controller', 'finalizer', 'schema', 'references', 'secretFields', 'secretReaders', 'composedBy', 'readers']);
  for (const key of Object.keys(input)) {
    if ((key === 'builtIn' || key === 'writtenByApi') && options.builtIn) continue;
    if (!allowed.has(key)) fail(key, key === 'builtIn' || key === 'writtenByApi' ? 'read-only' : 'additionalProperties', 'unknown field');
  }

  const { kind, plural, singular, shortNames, scope, controller, finalizer, schema, references, secretFields, secretReaders, composedBy, readers: readerList } = input;
  if (typeof kind !== 'string' || !/^[A-Z][A-Za-z0-9]{0,62}$/.test(kind)) fail('kind', 'pattern', 'must be PascalCase letters and digits');
  else if (RESERVED_NAMES.has(kind.toLowerCase())) fail('kind', 'reserved', 'is reserved by the API (a kind is also addressed by its name in lower case)');
  if (!isDnsLabel(plural) || !/^[a-z0-9]+$/.test(plural)) fail('plural', 'pattern', 'must be lower-case letters and digits');
  else if (RESERVED_NAMES.has(plural)) fail('plural', 'reserved', 'is reserved by the API');
  if (singular !== undefined && (typeof singular !== 'string' || !/^[a-z0-9]{1,63}$/.test(singular))) fail('singular', 'pattern', 'must be lower-case letters and digits');
  else if (typeof singular === 'string' && RESERVED_NAMES.has(singular)) fail('singular', 'reserved', 'is reserved by the API');
  if (shortNames !== undefined && (!Array.isArray(shortNames) || shortNames.length > 16 || !shortNames.every((s) => typeof s === 'string' && /^[a-z0-9]{1,63}$/.test(s)))) {
    fail('shortNames', 'pattern', 'must be at most 16 names of lower-case letters and digits');
  } else if (Array.isArray(shortNames)) {
    // Every name of a kind addresses it in a URL (`GET /v1/apply` listed a kind named so).
    shortNames.forEach((name: string, i) => RESERVED_NAMES.has(name) && fail(`shortNames[${i}]`, 'reserved', 'is reserved by the API'));
  }
  if (scope !== 'Project' && scope !== 'Platform') fail('scope', 'enum', 'must be Project or Platform');
  if (!isDnsLabel(controller)) fail('controller', 'dns-label', 'must be a DNS label');
  if (finalizer !== undefined && typeof finalizer !== 'boolean') fail('finalizer', 'type', 'must be true or false');
  /** A list of other controllers' names (`secretReaders`, `composedBy`). */
  const controllerList = (value: unknown, field: string, ownerRule: string): string[] => {
    const names: string[] = [];
    if (value === undefined) return names;
    if (!Array.isArray(value) || value.length > 16) fail(field, 'type', 'must be an array of at most 16 controller names');
    else
      value.forEach((name: unknown, i) => {
        if (!isDnsLabel(name)) fail(`${field}[${i}]`, 'dns-label', 'must be a controller name (a DNS label)');
        else if (name === controller) fail(`${field}[${i}]`, 'owner', ownerRule);
        else if (names.includes(name)) fail(`${field}[${i}]`, 'unique', `"${name}" is listed twice`);
        else names.push(name);
      });
    return names;
  };
  const readers = controllerList(secretReaders, 'secretReaders', 'the owning controller reads its secrets already');
  const composers = controllerList(composedBy, 'composedBy', 'the owning controller is not a composer of its own kind');
  const objectReaders = controllerList(readerList, 'readers', 'the owning controller reads its kind already');
  const envelopeBroken = problems.length > 0;

  let specSchema: Record<string, unknown> | undefined;
  if (!isJsonObject(schema) || schema['type'] !== 'object') fail('schema', 'type', 'must be a JSON Schema of type object');
  // Unknown fields are rejected unless the schema says otherwise.
  else specSchema = Object.hasOwn(schema, 'additionalProperties') ? schema : { ...schema, additionalProperties: false };

  const refs: KindDefinition['references'] = [];
  if (references !== undefined) {
    if (!Array.isArray(references)) fail('references', 'type', 'must be an array');
    else
      references.forEach((ref, i) => {
        if (!isJsonObject(ref) || typeof ref['kind'] !== 'string' || typeof ref['path'] !== 'string' || (ref['required'] !== undefined && typeof ref['required'] !== 'boolean')) {
          fail(`references[${i}]`, 'type', 'must be { path, kind, required? }');
          return;
        }
        const path = ref['path'];
        if (checkSpecPath(path, `references[${i}].path`, fail, { arrays: true }) && specSchema) {
          const declared = declaredAt(specSchema, path);
          const name = typeof declared === 'string' ? declared : declaredAt(declared, 'name');
          if (typeof declared === 'string') fail(`references[${i}].path`, 'declared', declared);
          else if (declared['type'] !== 'object' || typeof name === 'string' || name['type'] !== 'string') {
            fail(`references[${i}].path`, 'declared', `spec.${path} must be declared as an object with a string property "name"`);
          }
        }
        refs.push({ path, kind: ref['kind'], ...(ref['required'] === true ? { required: true } : {}) });
      });
  }

  const secrets: string[] = [];
  if (secretFields !== undefined) {
    if (!Array.isArray(secretFields)) fail('secretFields', 'type', 'must be an array of dotted paths');
    else
      secretFields.forEach((path: unknown, i) => {
        if (typeof path !== 'string') {
          fail(`secretFields[${i}]`, 'type', 'must be a dotted path');
          return;
        }
        if (checkSpecPath(path, `secretFields[${i}]`, fail) && specSchema) {
          const declared = declaredAt(specSchema, path);
          if (typeof declared === 'string') fail(`secretFields[${i}]`, 'declared', declared);
          else if (declared['type'] !== 'string') fail(`secretFields[${i}]`, 'string', `spec.${path} must be declared with type "string" (secrets are stored as strings)`);
        }
        if (secrets.includes(path)) fail(`secretFields[${i}]`, 'unique', `"${path}" is listed twice`);
        secrets.push(path);
      });
  }

  let validate: ((spec: unknown) => ErrorDetail[]) | undefined;
  if (specSchema) {
    const compiled = compiler.compile(specSchema);
    if (compiled.problems) problems.push(...compiled.problems);
    else validate = compiled.validate;
  }
  if (envelopeBroken) {
    if (validate && specSchema) compiler.release(specSchema);
    return { problems };
  }
  const definition: KindDefinition = {
    kind: kind as string,
    plural: plural as string,
    singular: (singular as string | undefined) ?? (kind as string).toLowerCase(),
    shortNames: (shortNames as string[] | undefined) ?? [],
    scope: scope as KindDefinition['scope'],
    controller: controller as string,
    ...(finalizer === false ? { finalizer: false } : {}),
    schema: specSchema ?? {},
    references: refs,
    secretFields: secrets,
    ...(readers.length > 0 ? { secretReaders: readers } : {}),
    ...(composers.length > 0 ? { composedBy: composers } : {}),
    ...(objectReaders.length > 0 ? { readers: objectReaders } : {}),
    ...(options.builtIn && input['writtenByApi'] === true ? { writtenByApi: true } : {}),
  };
  if (problems.length > 0) {
    if (validate && specSchema) compiler.release(specSchema);
    return { definition, problems };
  }
  return { definition, problems, ...(validate ? { validate } : {}), ...(specSchema ? { schema: specSchema } : {}) };
}

/** A dotted path into `spec`: identifiers only, never a segment that reaches a prototype. */
function checkSpecPath(path: string, where: string, fail: (path: string, rule: string, message: string) => void, options: { arrays?: boolean } = {}): boolean {
  if (path.length > 256 || !(options.arrays ? REFERENCE_PATH_SYNTAX : PATH_SYNTAX).test(path)) {
    fail(
      where,
      'pattern',
      options.arrays
        ? 'must be a dotted path of identifiers (letters, digits, "_"), a segment may end in [] for each item of an array, e.g. clusterRef or databases[].ref'
        : 'must be a dotted path of identifiers (letters, digits, "_"), e.g. existing.kubeconfig',
    );
    return false;
  }
  const forbidden = path.split('.').map((segment) => segment.replace(/\[\]$/, '')).find((segment) => FORBIDDEN_SEGMENTS.has(segment));
  if (forbidden !== undefined) {
    fail(where, 'forbidden-segment', `"${forbidden}" is not allowed in a path (it names an object's prototype)`);
    return false;
  }
  return true;
}
