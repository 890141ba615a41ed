/**
 * `POST /v1/apply`: a bundle of objects (multi-document YAML, or JSON `{ items }` / an array),
 * checked, put in reference order (referenced objects and owners first, whatever the order in the
 * bundle) and created or updated by (kind, project, name) in one transaction. A dry run answers the
 * plan and writes nothing; a real run with any blocked object answers 422 and writes nothing.
 */
import { InputError, PLATFORM_PROJECT, keyString, referencedNames, type ErrorDetail, type ResourceKey } from '@tugboat/resource-model';
import type { Actor } from './audit-trail.js';
import { isJsonObject } from './json-value.js';
import type { KindRegistry, RegisteredKind } from './kind-registry.js';
import { parseYamlDocuments } from './parse-yaml-documents.js';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './request-limits.js';
import { detailMessage, parseResourceBody } from './resource-input.js';
import { assertSafeStrings } from './string-safety.js';
import type { ApplyItem, ApplyOptions, ApplyOutcome, ResourceStore } from './resource-store.js';
import type { FieldChange } from './json-diff.js';

/** More documents than this in one bundle is a 413: one transaction should stay short. */
export const MAX_APPLY_DOCUMENTS = 1000;

export interface ApplyResultItem extends ResourceKey {
  action: ApplyOutcome['action'];
  generation?: number;
  diff?: FieldChange[];
  reasons?: Array<{ path: string; rule: string; message: string }>;
  /** Set on the objects an Application's expansion writes, listed right after it. */
  owner?: string;
  component?: string;
  cluster?: string;
  spec?: Record<string, unknown>;
  waitsFor?: string[];
}

export interface ApplyAnswer {
  dryRun: boolean;
  results: ApplyResultItem[];
}

/** Media types read as YAML; anything else must be JSON (parsed by the app's JSON middleware). */
export const YAML_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** The documents of a bundle: a YAML text, `{ items: [...] }` or an array. Empty YAML documents are skipped. */
export function bundleDocuments(body: unknown, limits: RequestLimits = DEFAULT_REQUEST_LIMITS): unknown[] {
  let documents: unknown[];
  if (typeof body === 'string') {
    documents = [];
    for (const value of parseYamlDocuments(body, limits)) {
      // A document may also be a list of objects, or a `kind: List` with `items`; taken one by one
      // and counted as they come (a spread of 400,000 items overflowed the stack: a 500).
      const list = Array.isArray(value) ? (value as unknown[]) : isJsonObject(value) && value['kind'] === 'List' && Array.isArray(value['items']) ? (value['items'] as unknown[]) : undefined;
      for (const item of list ?? (value === null || value === undefined ? [] : [value])) {
        if (documents.length >= MAX_APPLY_DOCUMENTS) throw tooManyDocuments();
        documents.push(item);
      }
    }
    // A JSON body was checked as it arrived; YAML escapes (`"\0"`) only exist once parsed.
    assertSafeStrings(documents, 'items');
  } else if (Array.isArray(body)) documents = body;
  else if (isJsonObject(body) && Array.isArray(body['items']) && Object.keys(body).every((k) => k === 'items' || k === 'apiVersion' || k === 'kind')) {
    documents = body['items'];
  } else {
    throw new InputError('body: must be a YAML bundle, a JSON array of objects, or { "items": [...] }', { details: [{ path: 'body', rule: 'type' }] });
  }
  if (documents.length === 0) throw new InputError('body: the bundle holds no objects', { details: [{ path: 'items', rule: 'minItems' }] });
  if (documents.length > MAX_APPLY_DOCUMENTS) throw tooManyDocuments();
  return documents;
}

function tooManyDocuments(): InputError {
  return new InputError(`body: at most ${MAX_APPLY_DOCUMENTS} objects per apply`, { status: 422, details: [{ path: 'items', rule: 'maxItems' }] });
}

interface Candidate {
  index: number;
  key: ResourceKey;
  item?: ApplyItem;
  reasons: Array<{ path: string; rule: string; message: string }>;
}

export interface ApplyBundleOptions {
  store: ResourceStore;
  kinds: KindRegistry;
  actor: Actor;
  dryRun: boolean;
  authorize: ApplyOptions['authorize'];
}

export async function applyBundle(documents: unknown[], options: ApplyBundleOptions): Promise<ApplyAnswer> {
  const candidates: Candidate[] = [];
  for (const [index, document] of documents.entries()) candidates.push(await checkDocument(index, document, options.kinds));
  markDuplicates(candidates);
  const ordered = await referenceOrder(candidates, options.kinds);

  const valid = ordered.filter((c) => c.reasons.length === 0);
  const anyInvalid = valid.length < candidates.length;
  const { outcomes, committed } = await options.store.applyAll(
    valid.map((c) => c.item!),
    options.actor,
    // With an invalid document the run writes nothing anyway: the store only reports what else blocks.
    { dryRun: options.dryRun || anyInvalid, authorize: options.authorize },
  );
  const byIndex = new Map(valid.map((c, i) => [c.index, outcomes[i]!]));
  const results: ApplyResultItem[] = ordered.flatMap((c): ApplyResultItem[] => {
    if (c.reasons.length > 0) return [{ ...c.key, action: 'blocked', reasons: c.reasons }];
    // An Application's plan: its own line, then each object its expansion writes or deletes.
    const { children, ...outcome } = byIndex.get(c.index)!;
    return [{ ...c.key, ...outcome }, ...(children ?? []).map(({ status: _status, ...child }) => child)];
  });

  if (!options.dryRun && !committed) {
    // An Application's refused children are named in its own reasons already.
    const refused = results.filter((r) => r.owner === undefined);
    const details: ErrorDetail[] = refused.flatMap((r) => (r.reasons ?? []).map((reason) => ({ path: `${keyString(r)}: ${reason.path}`, rule: reason.rule })));
    const messages = refused.flatMap((r) => (r.reasons ?? []).map((reason) => `${keyString(r)}: ${reason.path}: ${reason.message}`));
    throw new InputError(`the bundle was not applied (nothing was written): ${messages.join('; ')}`, { status: 422, details });
  }
  return { dryRun: options.dryRun, results };
}

/** Parses one document; what is wrong with it becomes its reasons (never a throw). */
async function checkDocument(index: number, document: unknown, kinds: KindRegistry): Promise<Candidate> {
  const metadata = isJsonObject(document) && isJsonObject(document['metadata']) ? document['metadata'] : {};
  const givenKind = isJsonObject(document) && typeof document['kind'] === 'string' ? document['kind'] : '';
  const key: ResourceKey = {
    kind: givenKind,
    project: typeof metadata['project'] === 'string' ? metadata['project'] : PLATFORM_PROJECT,
    name: typeof metadata['name'] === 'string' ? metadata['name'] : `items[${index}]`,
  };
  const blocked = (path: string, rule: string, message: string): Candidate => ({ index, key, reasons: [{ path, rule, message }] });
  if (!isJsonObject(document)) return blocked(`items[${index}]`, 'type', 'must be an object { apiVersion?, kind, metadata, spec }');
  if (givenKind === '') return blocked('kind', 'required', 'every object of a bundle names its kind');
  const kind = await kinds.get(givenKind);
  if (!kind) return blocked('kind', 'unknown-kind', `unknown kind "${givenKind}"`);
  key.kind = kind.definition.kind;
  try {
    // Any name of the kind may be used in a bundle (as `tug` accepts them); the body check wants the kind.
    const input = parseResourceBody({ ...document, kind: kind.definition.kind }, kind.definition);
    return { index, key: { kind: kind.definition.kind, project: input.project, name: input.name }, item: { kind, input }, reasons: [] };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { index, key, reasons: error.details.map((d) => ({ path: d.path, rule: d.rule, message: detailMessage(error, d.path) })) };
  }
}

function markDuplicates(candidates: Candidate[]): void {
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (candidate.reasons.length > 0) continue;
    const id = keyString(candidate.key);
    if (seen.has(id)) candidate.reasons.push({ path: 'metadata.name', rule: 'unique', message: 'appears more than once in the bundle' });
    seen.add(id);
  }
}

/**
 * Referenced objects, owners and projects that are in the bundle come before the objects that need them;
 * otherwise the bundle's order is kept. Objects in a cycle are blocked.
 */
async function referenceOrder(candidates: Candidate[], kinds: KindRegistry): Promise<Candidate[]> {
  const byKey = new Map(candidates.filter((c) => c.reasons.length === 0).map((c) => [keyString(c.key), c]));
  const needs = new Map<Candidate, Set<Candidate>>();
  for (const candidate of byKey.values()) {
    const { kind, input } = candidate.item!;
    const targets = new Set<Candidate>();
    const add = async (targetKindName: string, name: unknown) => {
      const targetKind = await kinds.get(targetKindName);
      if (!targetKind || typeof name !== 'string') return;
      const target = byKey.get(keyString({ kind: targetKind.definition.kind, project: projectFor(targetKind, input.project), name }));
      if (target && target !== candidate) targets.add(target);
    };
    for (const reference of kind.definition.references) for (const { name } of referencedNames(input.spec, reference.path)) await add(reference.kind, name);
    for (const owner of input.ownerReferences) await add(owner.kind, owner.name);
    // A project in the same bundle is created before the objects that live in it.
    if (kind.definition.scope === 'Project') await add('Project', input.project);
    needs.set(candidate, targets);
  }

  const ordered: Candidate[] = [];
  const placed = new Set<Candidate>();
  const pending = candidates.filter((c) => c.reasons.length === 0);
  for (;;) {
    const next = pending.find((c) => !placed.has(c) && [...needs.get(c)!].every((t) => placed.has(t)));
    if (!next) break;
    placed.add(next);
    ordered.push(next);
  }
  for (const candidate of pending) {
    if (placed.has(candidate)) continue;
    candidate.reasons.push({ path: 'spec', rule: 'cycle', message: 'its references or owners in this bundle form a cycle, or lead to one' });
    ordered.push(candidate);
  }
  return [...ordered, ...candidates.filter((c) => !pending.includes(c))];
}

function projectFor(kind: RegisteredKind, project: string): string {
  return kind.definition.scope === 'Platform' ? PLATFORM_PROJECT : project;
}
