import type { Manifest } from './read-manifests.js';

/** `Kind/project/name` (`_` for platform-wide), the identity of a manifest within one bundle. */
export function manifestKey(kind: string, project: string, name: string): string {
  return `${kind}/${project === '' ? '_' : project}/${name}`;
}

export function keyOfManifest(manifest: Manifest): string {
  return manifestKey(manifest.definition.kind, manifest.input.metadata.project ?? '', manifest.input.metadata.name);
}

/** How a manifest is named in output: `Kind/name`, with the project for project-scoped kinds. */
export function displayName(manifest: Manifest): string {
  return `${manifest.definition.kind}/${manifest.input.metadata.name}`;
}
