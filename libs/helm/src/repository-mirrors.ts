/**
 * Repository mirrors: a prefix of a chart repository URL replaced by another before helm runs, as a
 * control plane's registry-mirror setting does (an air-gapped site's own copy of a public
 * repository; the sandbox standing in for the real ones in tests and `tug up`). Definitions keep
 * naming the real repository; only where it is fetched from changes.
 */

export interface RepositoryMirror {
  /** A repository URL prefix: `https://charts.jetstack.io`, `oci://ghcr.io/stefanprodan/charts`. */
  from: string;
  /** What replaces it: same kind (an HTTP repository for an HTTP one, `oci://` for `oci://`). */
  to: string;
}

/**
 * Reads `from=to,from=to` (as `TUGBOAT_HELM_MIRRORS` holds it). Whitespace around entries is
 * ignored; a malformed entry is an error naming it.
 */
export function parseRepositoryMirrors(setting: string | undefined): RepositoryMirror[] {
  const mirrors: RepositoryMirror[] = [];
  for (const raw of (setting ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const at = entry.indexOf('=');
    if (at < 0) throw new Error(`repository mirror "${entry}" is not of the form from=to`);
    const from = trimSlashes(entry.slice(0, at).trim());
    const to = trimSlashes(entry.slice(at + 1).trim());
    const fromKind = repositoryKind(from);
    const toKind = repositoryKind(to);
    if (fromKind === undefined) throw new Error(`repository mirror "${entry}": "${from}" is not an http(s):// or oci:// URL`);
    if (toKind === undefined) throw new Error(`repository mirror "${entry}": "${to}" is not an http(s):// or oci:// URL`);
    if (fromKind !== toKind) throw new Error(`repository mirror "${entry}": an ${fromKind === 'oci' ? 'OCI registry' : 'HTTP repository'} can only be mirrored by another one`);
    if (mirrors.some((m) => m.from === from)) throw new Error(`repository mirror "${entry}": "${from}" is mirrored twice`);
    mirrors.push({ from, to });
  }
  return mirrors;
}

/** The repository to fetch from: the longest mirror prefix that matches at a path boundary, replaced. */
export function mirrorRepository(repository: string, mirrors: readonly RepositoryMirror[]): string {
  const url = trimSlashes(repository);
  let best: RepositoryMirror | undefined;
  for (const mirror of mirrors) {
    const from = trimSlashes(mirror.from);
    if ((url === from || url.startsWith(`${from}/`)) && (best === undefined || from.length > trimSlashes(best.from).length)) best = mirror;
  }
  return best === undefined ? url : trimSlashes(best.to) + url.slice(trimSlashes(best.from).length);
}

export function repositoryKind(repository: string): 'http' | 'oci' | undefined {
  if (/^oci:\/\/[^/\s]+/.test(repository)) return 'oci';
  if (/^https?:\/\/[^/\s]+/.test(repository)) return 'http';
  return undefined;
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}
