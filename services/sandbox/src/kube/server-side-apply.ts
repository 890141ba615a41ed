/**
 * Field ownership (`metadata.managedFields`) and server-side apply: an applier owns the fields it
 * sends; re-applying without a field removes it unless another manager still owns it; changing a
 * field another manager owns is a conflict unless forced. Ordinary writes (create, update, patch)
 * move the fields they change to their manager, as the real API server does.
 */
import { FieldSet, fieldSetOf, removeAt, valuesIn, type FieldPath, type FieldScope } from './field-set.js';
import { clone, deepEqual, isPlainObject, isSetList, listMapKey, type JsonObject } from './json-values.js';
import { KubeStatusError, type QualifiedResource } from './kube-status.js';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource: string;
  set: FieldSet;
}

/** The stored entry an owner was read from, while the owner still says what it says. */
const readFrom = new WeakMap<Owner, { entry: JsonObject; set?: FieldSet; changes?: number }>();

function ownersOf(object: JsonObject | undefined): Owner[] {
  const entries = (object?.metadata as { managedFields?: unknown } | undefined)?.managedFields;
  if (!Array.isArray(entries)) return [];
  return entries.filter(isPlainObject).map((entry) => {
    // The field set is read on first use: a write leaves most managers' entries as they are.
    const source: { entry: JsonObject; set?: FieldSet; changes?: number } = { entry };
    let set: FieldSet | undefined;
    const owner: Owner = {
      manager: String(entry.manager ?? ''),
      operation: entry.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: String(entry.apiVersion ?? ''),
      time: String(entry.time ?? ''),
      subresource: String(entry.subresource ?? ''),
      get set(): FieldSet {
        if (set === undefined) {
          set = FieldSet.fromFieldsV1(entry.fieldsV1);
          source.set = set;
          source.changes = set.changes;
        }
        return set;
      },
      set set(value: FieldSet) {
        set = value;
        readFrom.delete(owner);
      },
    };
    readFrom.set(owner, source);
    return owner;
  });
}

/** The stored entry itself when the owner is as it was read (rendering it again would give the same). */
function unchanged(owner: Owner): JsonObject | undefined {
  const source = readFrom.get(owner);
  if (source === undefined) return undefined;
  const { entry } = source;
  if (owner.time !== entry.time || owner.apiVersion !== entry.apiVersion) return undefined;
  if (source.set === undefined) return entry;
  return owner.set === source.set && source.set.changes === source.changes ? entry : undefined;
}

function render(owners: Owner[]): ManagedFieldsEntry[] {
  return owners
    .filter((owner) => unchanged(owner) !== undefined || owner.set.size > 0)
    .map((owner) => {
      const kept = unchanged(owner);
      if (kept !== undefined) return kept as unknown as ManagedFieldsEntry;
      const entry: ManagedFieldsEntry = {
        manager: owner.manager,
        operation: owner.operation,
        apiVersion: owner.apiVersion,
        time: owner.time,
        fieldsType: 'FieldsV1',
        fieldsV1: owner.set.toFieldsV1(),
      };
      if (owner.subresource !== '') entry.subresource = owner.subresource;
      return entry;
    });
}

/** `.spec.template.spec.containers[name="web"].image`, as conflict messages show a path. */
export function describePath(path: FieldPath): string {
  return path
    .map((element) => {
      if (element.startsWith('f:')) return `.${element.slice(2)}`;
      if (element.startsWith('k:')) {
        const key = JSON.parse(element.slice(2)) as JsonObject;
        return `[${Object.entries(key).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(',')}]`;
      }
      return `[=${element.slice(2)}]`;
    })
    .join('');
}

export interface WriteScope {
  /** `main` for the object (without status when the type has a status subresource), `status` for /status, `all` otherwise. */
  scope: FieldScope;
  subresource: '' | 'status';
}

export interface RecordUpdateOptions extends WriteScope {
  previous: JsonObject | undefined;
  next: JsonObject;
  manager: string;
  apiVersion: string;
  now: string;
}

/** managedFields after an ordinary write by `manager`: it takes the fields it changed. */
export function recordUpdate(options: RecordUpdateOptions): ManagedFieldsEntry[] {
  const owners = ownersOf(options.previous);
  const before = options.previous ? fieldSetOf(options.previous, options.scope) : new FieldSet();
  const after = fieldSetOf(options.next, options.scope);
  const previousValues = valuesIn(options.previous);
  const nextValues = valuesIn(options.next);
  const changed = after.filter((path, key) => !before.hasKey(key) || !deepEqual(previousValues(path, key).value, nextValues(path, key).value));
  for (const owner of owners) {
    if (owner.subresource !== options.subresource) continue;
    owner.set.retainAtOrBelow(after);
    if (owner.manager === options.manager && owner.operation === 'Update') continue;
    owner.set.deleteAll(changed);
  }
  if (changed.size > 0) {
    let mine = owners.find(
      (owner) => owner.manager === options.manager && owner.operation === 'Update' && owner.subresource === options.subresource,
    );
    if (!mine) {
      mine = { manager: options.manager, operation: 'Update', apiVersion: options.apiVersion, time: options.now, subresource: options.subresource, set: new FieldSet() };
      owners.push(mine);
    }
    mine.set.addAll(changed);
    mine.time = options.now;
    mine.apiVersion = options.apiVersion;
  }
  return render(owners);
}

export interface ApplyConflict {
  manager: string;
  apiVersion: string;
  path: FieldPath;
}

export interface ApplyOptions extends WriteScope {
  /** The live object, or undefined when apply creates it. */
  live: JsonObject | undefined;
  /** The applied configuration (already parsed from YAML or JSON). */
  config: JsonObject;
  manager: string;
  force: boolean;
  apiVersion: string;
  now: string;
}

export type ApplyResult = { object: JsonObject; managedFields: ManagedFieldsEntry[]; conflicts?: undefined } | { conflicts: ApplyConflict[] };

const OWNABLE_METADATA = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

function mergeApplied(live: unknown, config: unknown, fieldName: string): unknown {
  if (isPlainObject(config) && isPlainObject(live)) {
    const out: JsonObject = { ...live };
    for (const [key, value] of Object.entries(config)) out[key] = mergeApplied(live[key], value, key);
    return out;
  }
  if (Array.isArray(config) && Array.isArray(live)) {
    const key = listMapKey(fieldName, config);
    if (key !== undefined && listMapKey(fieldName, live) === key) {
      const out = live.slice() as JsonObject[];
      for (const item of config as JsonObject[]) {
        const index = out.findIndex((existing) => existing[key] === item[key]);
        if (index >= 0) out[index] = mergeApplied(out[index], item, '') as JsonObject;
        else out.push(clone(item));
      }
      return out;
    }
    if (isSetList(fieldName, config) && isSetList(fieldName, live)) {
      return [...live, ...config.filter((item) => !live.includes(item))];
    }
  }
  return clone(config);
}

function inScope(key: string, scope: FieldScope): boolean {
  if (key === 'apiVersion' || key === 'kind') return false;
  if (scope === 'main') return key !== 'status';
  if (scope === 'status') return key === 'status';
  return true;
}

/** Server-side apply of `config` by `manager`; returns the conflicts instead when not forced. */
export function applyConfiguration(options: ApplyOptions): ApplyResult {
  const { config, live, scope } = options;
  const owners = ownersOf(live);
  const configFields = fieldSetOf(config, scope);
  const isSelf = (owner: Owner) => owner.manager === options.manager && owner.operation === 'Apply' && owner.subresource === options.subresource;

  const conflicts: ApplyConflict[] = [];
  const configValues = valuesIn(config);
  const liveValues = valuesIn(live);
  for (const [key, path] of configFields.entries()) {
    const applied = configValues(path, key).value;
    if (isPlainObject(applied) && Object.keys(applied).length > 0) continue;
    const current = liveValues(path, key);
    if (!current.found || deepEqual(current.value, applied)) continue;
    for (const owner of owners) {
      if (isSelf(owner) || owner.subresource !== options.subresource || !owner.set.hasKey(key)) continue;
      conflicts.push({ manager: owner.manager, apiVersion: owner.apiVersion, path });
    }
  }
  if (conflicts.length > 0 && !options.force) return { conflicts };
  for (const found of conflicts) {
    for (const owner of owners) if (!isSelf(owner)) owner.set.delete(found.path);
  }

  const merged: JsonObject = clone(live) ?? {};
  for (const [key, value] of Object.entries(config)) {
    if (!inScope(key, scope) || value === undefined) continue;
    if (key === 'metadata') {
      if (!isPlainObject(value)) continue;
      const metadata: JsonObject = isPlainObject(merged.metadata) ? merged.metadata : {};
      for (const field of OWNABLE_METADATA) {
        if (value[field] !== undefined) metadata[field] = mergeApplied(metadata[field], value[field], field);
      }
      merged.metadata = metadata;
      continue;
    }
    merged[key] = mergeApplied(merged[key], value, key);
  }

  let self = owners.find(isSelf);
  if (self) {
    // Shallow paths first: a list item goes as a whole before its fields would be removed one by one.
    for (const path of self.set.paths().sort((a, b) => a.length - b.length)) {
      if (configFields.hasAtOrBelow(path)) continue;
      if (owners.some((owner) => owner !== self && owner.set.hasAtOrBelow(path))) continue;
      removeAt(merged, path);
    }
  } else {
    self = { manager: options.manager, operation: 'Apply', apiVersion: options.apiVersion, time: options.now, subresource: options.subresource, set: new FieldSet() };
    owners.push(self);
  }
  self.set = configFields;
  self.time = options.now;
  self.apiVersion = options.apiVersion;
  return { object: merged, managedFields: render(owners) };
}

export function applyConflictError(resource: QualifiedResource, name: string, conflicts: ApplyConflict[]): KubeStatusError {
  const byManager = new Map<string, ApplyConflict[]>();
  for (const found of conflicts) byManager.set(found.manager, [...(byManager.get(found.manager) ?? []), found]);
  const lines = [...byManager.entries()].map(([manager, found]) => {
    const using = `"${manager}" using ${found[0]?.apiVersion ?? ''}`;
    return found.length === 1 ? `conflict with ${using}: ${describePath(found[0]?.path ?? [])}` : `conflicts with ${using}:\n${found.map((item) => `- ${describePath(item.path)}`).join('\n')}`;
  });
  const count = conflicts.length === 1 ? '1 conflict' : `${conflicts.length} conflicts`;
  return new KubeStatusError(409, 'Conflict', `Apply failed with ${count}: ${lines.join('\n')}`, {
    name,
    group: resource.group,
    kind: resource.plural,
    causes: conflicts.map((found) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${found.manager}" using ${found.apiVersion}`,
      field: describePath(found.path),
    })),
  });
}
