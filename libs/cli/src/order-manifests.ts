import { referencedNames, type KindDefinition } from '@tugboat/resource-model';
import { keyOfManifest, manifestKey } from './manifest-key.js';
import type { Manifest } from './read-manifests.js';
import { UsageError } from './usage-error.js';

/**
 * Orders a bundle so that every object another one references (its reference fields, as the kind
 * declares them), is owned by or lives in (its Project) comes first; otherwise the order of the files is kept. Only
 * references to objects in the same bundle matter: others must already exist on the server.
 */
export function orderManifests(manifests: readonly Manifest[], kinds: readonly KindDefinition[]): Manifest[] {
  const byKey = new Map<string, Manifest>();
  for (const manifest of manifests) {
    const key = keyOfManifest(manifest);
    const earlier = byKey.get(key);
    if (earlier !== undefined) {
      const { kind, metadata } = manifest.input;
      const shown = metadata.project ? `${kind}/${metadata.project}/${metadata.name}` : `${kind}/${metadata.name}`;
      throw new UsageError(`${manifest.source}: ${shown} is also defined in ${earlier.source}`, [{ path: 'metadata.name', rule: 'unique' }]);
    }
    byKey.set(key, manifest);
  }

  const dependencies = new Map<string, string[]>();
  for (const manifest of manifests) {
    dependencies.set(keyOfManifest(manifest), dependenciesOf(manifest, kinds).filter((key) => byKey.has(key)));
  }

  const ordered: Manifest[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (key: string, path: string[]): void => {
    const seen = state.get(key);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(key)), key].join(' -> ');
      throw new UsageError(`the bundle's references form a cycle: ${cycle}`, [{ path: 'spec', rule: 'acyclic' }]);
    }
    state.set(key, 'visiting');
    for (const dependency of dependencies.get(key) ?? []) visit(dependency, [...path, key]);
    state.set(key, 'done');
    ordered.push(byKey.get(key)!);
  };
  for (const manifest of manifests) visit(keyOfManifest(manifest), []);
  return ordered;
}

/** Keys of the objects a manifest points at through its kind's reference fields and its owners. */
export function dependenciesOf(manifest: Manifest, kinds: readonly KindDefinition[]): string[] {
  const project = manifest.input.metadata.project ?? '';
  const keys: string[] = [];
  for (const reference of manifest.definition.references) {
    const targetKind = kinds.find((kind) => kind.kind === reference.kind);
    for (const { name } of referencedNames(manifest.input.spec, reference.path)) {
      if (name !== undefined) keys.push(manifestKey(reference.kind, targetKind?.scope === 'Platform' ? '' : project, name));
    }
  }
  for (const owner of manifest.input.metadata.ownerReferences ?? []) {
    const ownerKind = kinds.find((kind) => kind.kind === owner.kind);
    keys.push(manifestKey(owner.kind, ownerKind?.scope === 'Platform' ? '' : project, owner.name));
  }
  // An object of a project comes after that project's Project, when the bundle holds it.
  if (manifest.definition.scope === 'Project' && project !== '') keys.push(manifestKey('Project', '', project));
  return keys;
}
