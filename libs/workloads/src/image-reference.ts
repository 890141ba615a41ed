import { parseFamiliarName } from '@swimlane/docker-reference';

/**
 * The registry an image is pulled from, resolved as Docker resolves it: no registry part means
 * `docker.io` (`nginx`, `nginxdemos/hello`), a first part with a dot, a colon or `localhost` is a
 * registry (`ghcr.io/x/y:1`, `localhost:5000/x`); `index.docker.io` is `docker.io`. Lower case, as
 * host names compare.
 */
export function imageRegistry(image: string): { registry: string } | { error: string } {
  try {
    const domain = parseFamiliarName(image).domain;
    if (domain === undefined) return { error: 'has no registry' };
    return { registry: domain.toLowerCase() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** A registry as written in `allowedImageRegistries`, compared the way `imageRegistry` resolves one. */
export function normalizeRegistry(registry: string): string {
  const lower = registry.toLowerCase();
  return lower === 'index.docker.io' || lower === 'registry-1.docker.io' ? 'docker.io' : lower;
}

/**
 * The image with its tag (and digest, which would pin another content) replaced by `tag`, keeping
 * the reference as it was written otherwise (`nginx` → `nginx:1.27`, `localhost:5000/x@sha256:…` →
 * `localhost:5000/x:1.27`). A colon in the last path segment starts the tag; one before it is a port.
 */
export function withTag(image: string, tag: string): string {
  const withoutDigest = image.split('@', 1)[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  const repository = colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
  return `${repository}:${tag}`;
}
