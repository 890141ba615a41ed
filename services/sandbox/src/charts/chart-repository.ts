/**
 * The sandbox's chart repositories, read-only and anonymous, on the sandbox's one port:
 *
 * - HTTP Helm repositories: `GET /charts/{repo}/index.yaml` and `/charts/{repo}/{chart}-{version}.tgz`;
 * - an OCI registry (distribution spec): `GET /v2/`, `GET|HEAD /v2/{name}/manifests/{tag|digest}`,
 *   `GET|HEAD /v2/{name}/blobs/{digest}`, `GET /v2/{name}/tags/list`, with charts stored as Helm
 *   pushes them (an image manifest with a Helm config and one chart layer).
 *
 * The charts are the directories under `services/sandbox/charts/`, packed once, when the first
 * request for a chart arrives (about 50 ms of CPU that a sandbox serving no chart never spends).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, Response } from 'express';
import { stringify } from 'yaml';
import { CHART_TIMESTAMP, packChart, type ChartArchive } from './chart-archive.js';
import { STANDIN_HTTP_REPOSITORIES, STANDIN_OCI_NAMESPACES, type StandinHttpRepository, type StandinOciNamespace } from './standin-charts.js';

/** The chart directories of this package: `src/charts/` and `dist/charts/` are both two levels below its root. */
export const DEFAULT_CHARTS_DIR = fileURLToPath(new URL('../../charts/', import.meta.url));

export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const HELM_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.helm.config.v1+json';
export const HELM_CHART_LAYER_MEDIA_TYPE = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

export interface ChartRepositoryOptions {
  chartsDir?: string;
  httpRepositories?: readonly StandinHttpRepository[];
  ociNamespaces?: readonly StandinOciNamespace[];
}

export interface ChartRepository {
  /** Packs the charts (once; the handler calls it on the first chart request). */
  load(): Promise<void>;
  /** Express middleware: serves `/charts/…` and `/v2/…`, passes everything else on. */
  handler(req: Request, res: Response, next: NextFunction): void;
}

interface Blob {
  mediaType: string;
  body: Buffer;
}

interface OciRepository {
  /** tag → manifest digest */
  tags: Map<string, string>;
  /** digest → manifest or blob */
  manifests: Map<string, Blob>;
  blobs: Map<string, Blob>;
}

interface HttpRepository {
  index: string;
  archives: Map<string, Buffer>;
}

export function createChartRepository(options: ChartRepositoryOptions = {}): ChartRepository {
  const chartsDir = options.chartsDir ?? DEFAULT_CHARTS_DIR;
  const httpRepositories = new Map<string, HttpRepository>();
  const ociRepositories = new Map<string, OciRepository>();
  let loading: Promise<void> | undefined;

  function load(): Promise<void> {
    loading ??= pack().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  }

  async function pack(): Promise<void> {
    const packed = new Map<string, Promise<ChartArchive>>();
    const pack = (dirName: string) => {
      let archive = packed.get(dirName);
      if (archive === undefined) packed.set(dirName, (archive = packChart(join(chartsDir, dirName))));
      return archive;
    };
    for (const repo of options.httpRepositories ?? STANDIN_HTTP_REPOSITORIES) {
      const charts = await Promise.all(repo.charts.map(pack));
      httpRepositories.set(repo.name, { index: repositoryIndex(charts), archives: new Map(charts.map((c) => [archiveName(c), c.archive])) });
    }
    for (const namespace of options.ociNamespaces ?? STANDIN_OCI_NAMESPACES) {
      for (const chart of await Promise.all(namespace.charts.map(pack))) {
        const name = `${namespace.path}/${chart.name}`;
        let repo = ociRepositories.get(name);
        if (repo === undefined) ociRepositories.set(name, (repo = { tags: new Map(), manifests: new Map(), blobs: new Map() }));
        addOciChart(repo, chart);
      }
    }
  }

  function handler(req: Request, res: Response, next: NextFunction): void {
    const path = req.path;
    const isCharts = path.startsWith('/charts/');
    const isRegistry = path === '/v2' || path.startsWith('/v2/');
    // A SigV4-signed request is the AWS half's, whatever its path.
    if ((!isCharts && !isRegistry) || isAwsSigned(req)) return next();
    load().then(
      () => (isCharts ? serveHttpRepository(req, res, path) : serveRegistry(req, res, path)),
      (error: unknown) => void res.status(500).type('text/plain').send(`the sandbox's charts could not be packed: ${(error as Error).message}\n`),
    );
  }

  function serveHttpRepository(req: Request, res: Response, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.status(405).set('Allow', 'GET, HEAD').end();
    const match = /^\/charts\/([^/]+)\/([^/]+)$/.exec(path);
    const repo = match ? httpRepositories.get(decodeURIComponent(match[1] ?? '')) : undefined;
    const file = decodeURIComponent(match?.[2] ?? '');
    if (repo !== undefined && file === 'index.yaml') return send(res, 200, 'application/x-yaml', Buffer.from(repo.index));
    const archive = repo?.archives.get(file);
    if (archive !== undefined) return send(res, 200, 'application/gzip', archive);
    res.status(404).type('text/plain').send(`404 Not Found: ${path}\n`);
  }

  function serveRegistry(req: Request, res: Response, path: string): void {
    res.set('Docker-Distribution-API-Version', 'registry/2.0');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD');
      return registryError(res, 405, 'UNSUPPORTED', 'The operation is unsupported: this registry is read-only.');
    }
    if (path === '/v2' || path === '/v2/') return send(res, 200, 'application/json', Buffer.from('{}'));
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (tags) {
      const name = tags[1] ?? '';
      const repo = ociRepositories.get(name);
      if (repo === undefined) return registryError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
      return send(res, 200, 'application/json', Buffer.from(JSON.stringify({ name, tags: [...repo.tags.keys()].sort() })));
    }
    const item = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    if (!item) return registryError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry', { path });
    const [, name = '', kind, reference = ''] = item;
    const repo = ociRepositories.get(name);
    if (repo === undefined) return registryError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
    if (kind === 'manifests') {
      const digest = reference.startsWith('sha256:') ? reference : repo.tags.get(reference);
      const manifest = digest === undefined ? undefined : repo.manifests.get(digest);
      if (digest === undefined || manifest === undefined) return registryError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown', { name, reference });
      res.set('Docker-Content-Digest', digest);
      return send(res, 200, manifest.mediaType, manifest.body);
    }
    const blob = repo.blobs.get(reference);
    if (blob === undefined) return registryError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry', { name, digest: reference });
    res.set('Docker-Content-Digest', reference);
    send(res, 200, blob.mediaType, blob.body);
  }

  return { load, handler };
}

/** An `index.yaml` as `helm repo index` writes it: entries by chart name, newest version first, relative URLs. */
function repositoryIndex(charts: ChartArchive[]): string {
  const entries: Record<string, Array<Record<string, unknown>>> = {};
  for (const chart of [...charts].sort((a, b) => a.name.localeCompare(b.name) || compareVersionsDescending(a.version, b.version))) {
    (entries[chart.name] ??= []).push({
      ...chart.metadata,
      created: CHART_TIMESTAMP.toISOString(),
      digest: chart.sha256,
      urls: [archiveName(chart)],
    });
  }
  return stringify({ apiVersion: 'v1', entries, generated: CHART_TIMESTAMP.toISOString() });
}

/** Stores a chart as `helm push` does: config = Chart.yaml as JSON, one layer = the archive, tag = version (`+` → `_`). */
function addOciChart(repo: OciRepository, chart: ChartArchive): void {
  const config = Buffer.from(JSON.stringify(chart.metadata));
  const configDigest = sha256Digest(config);
  const layerDigest = `sha256:${chart.sha256}`;
  repo.blobs.set(configDigest, { mediaType: HELM_CONFIG_MEDIA_TYPE, body: config });
  repo.blobs.set(layerDigest, { mediaType: HELM_CHART_LAYER_MEDIA_TYPE, body: chart.archive });
  const annotations: Record<string, string> = {
    'org.opencontainers.image.created': CHART_TIMESTAMP.toISOString(),
    'org.opencontainers.image.title': chart.name,
    'org.opencontainers.image.version': chart.version,
  };
  if (typeof chart.metadata.description === 'string') annotations['org.opencontainers.image.description'] = chart.metadata.description;
  if (typeof chart.metadata.home === 'string') annotations['org.opencontainers.image.url'] = chart.metadata.home;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: HELM_CONFIG_MEDIA_TYPE, digest: configDigest, size: config.length },
      layers: [{ mediaType: HELM_CHART_LAYER_MEDIA_TYPE, digest: layerDigest, size: chart.archive.length }],
      annotations,
    }),
  );
  const manifestDigest = sha256Digest(manifest);
  repo.manifests.set(manifestDigest, { mediaType: OCI_MANIFEST_MEDIA_TYPE, body: manifest });
  repo.tags.set(chart.version.replaceAll('+', '_'), manifestDigest);
}

function archiveName(chart: ChartArchive): string {
  return `${chart.name}-${chart.version}.tgz`;
}

function sha256Digest(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** Newest first by the numeric parts of a (possibly `v`-prefixed) semantic version; enough for the stand-ins. */
function compareVersionsDescending(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^v/, '').split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const d = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function send(res: Response, status: number, contentType: string, body: Buffer): void {
  // Node leaves the body out of a HEAD answer and keeps the headers, Content-Length included.
  res.status(status).set({ 'Content-Type': contentType, 'Content-Length': String(body.length) }).end(body);
}

/** The distribution spec's error body: `{ errors: [{ code, message, detail }] }`. */
function registryError(res: Response, status: number, code: string, message: string, detail?: Record<string, string>): void {
  send(res, status, 'application/json', Buffer.from(JSON.stringify({ errors: [{ code, message, ...(detail ? { detail } : {}) }] })));
}

function isAwsSigned(req: Request): boolean {
  const auth = req.headers.authorization;
  return (typeof auth === 'string' && auth.startsWith('AWS4-')) || 'X-Amz-Signature' in req.query;
}
