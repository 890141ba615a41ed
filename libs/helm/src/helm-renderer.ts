/**
 * Renders a chart with `helm template`, as Argo CD does: helm fetches the chart (HTTP repository
 * or OCI registry) and runs its templates; Tugboat applies the objects itself (server-side apply),
 * so there is no release state in the cluster. Repository mirrors are applied before anything
 * runs; helm gets a HOME of its own under the cache directory, so no user's repositories,
 * registry logins or plugins leak in.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChartError, type ChartErrorReason } from './chart-error.js';
import type { ChartSource, RenderChartInput, RenderedChart, RenderedObject } from './chart-source.js';
import { helmShowChartArguments, helmTemplateArguments } from './helm-arguments.js';
import { classifyHelmFailure, helmMessage, NO_VERSION_TAGS } from './helm-errors.js';
import { execHelm, HelmRunFailure, type HelmRunner } from './helm-runner.js';
import { mirrorRepository, type RepositoryMirror } from './repository-mirrors.js';
import { parseRenderedManifest } from './rendered-manifest.js';
import { createRenderCache } from './render-cache.js';

export interface HelmRendererOptions {
  /** Default `helm` (looked up on PATH). */
  helmBinary?: string;
  /** helm's HOME, caches and the values files. Default `$TMPDIR/tugboat-helm`. */
  cacheDir?: string;
  mirrors?: RepositoryMirror[];
  /** `host[:port]` of OCI registries reached over plain HTTP (`--plain-http`). */
  plainHttpHosts?: string[];
  /** Per helm run. Default 60 000. */
  timeoutMs?: number;
  /** What helm may print before it is stopped (`TooLarge`). Default 32 MiB. */
  maxOutputBytes?: number;
  /** Finished renders kept. Default 64; 0 keeps none (identical renders under way still share a run). */
  cacheEntries?: number;
  /** Runs helm; default `execHelm`. A test or an instrumented controller wraps it (to count runs, say). */
  runner?: HelmRunner;
}

export interface HelmRenderer {
  /** Rejects with a `ChartError`, or with the signal's reason when aborted. */
  render(input: RenderChartInput): Promise<RenderedChart>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
const DEFAULT_CACHE_ENTRIES = 64;
/** Passed through to helm: what an operator sets to reach repositories (proxies, CA bundles). */
const PASSED_ENV = ['PATH', 'TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

interface RenderResult {
  objects: RenderedObject[];
  digest: string;
}

export function createHelmRenderer(options: HelmRendererOptions = {}): HelmRenderer {
  const binary = options.helmBinary ?? 'helm';
  const cacheDir = options.cacheDir ?? join(tmpdir(), 'tugboat-helm');
  const mirrors = options.mirrors ?? [];
  const plainHttpHosts = options.plainHttpHosts ?? [];
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const runner = options.runner ?? execHelm;
  const cache = createRenderCache<RenderResult>(options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
  const dirs = { home: join(cacheDir, 'home'), values: join(cacheDir, 'values') };
  let prepared: Promise<void> | undefined;

  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(PASSED_ENV.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]])),
    HOME: dirs.home,
    XDG_CACHE_HOME: join(dirs.home, '.cache'),
    XDG_CONFIG_HOME: join(dirs.home, '.config'),
    XDG_DATA_HOME: join(dirs.home, '.local', 'share'),
    HELM_CACHE_HOME: join(dirs.home, '.cache', 'helm'),
    HELM_CONFIG_HOME: join(dirs.home, '.config', 'helm'),
    HELM_DATA_HOME: join(dirs.home, '.local', 'share', 'helm'),
  };

  function prepare(): Promise<void> {
    prepared ??= Promise.all([mkdir(dirs.home, { recursive: true, mode: 0o700 }), mkdir(dirs.values, { recursive: true, mode: 0o700 })]).then(
      () => undefined,
      (error: unknown) => {
        prepared = undefined;
        throw error;
      },
    );
    return prepared;
  }

  async function run(args: string[], signal: AbortSignal): Promise<string> {
    return runner(binary, args, { env, timeoutMs, maxOutputBytes, signal });
  }

  async function renderUncached(input: RenderChartInput, source: ChartSource, signal: AbortSignal): Promise<RenderResult> {
    const what = describe(input.source, source);
    await prepare();
    const valuesFile = join(dirs.values, `${randomUUID()}.json`);
    await writeFile(valuesFile, JSON.stringify(input.values ?? {}), { mode: 0o600, flag: 'wx' });
    try {
      const args = helmTemplateArguments({ source, releaseName: input.releaseName, namespace: input.namespace, includeCrds: input.includeCrds, kubeVersion: input.kubeVersion, valuesFile }, plainHttpHosts);
      if (args === undefined) throw new ChartError('RepositoryUnreachable', `${what}: the repository "${source.repository}" is neither an http(s):// nor an oci:// URL`);
      let stdout: string;
      try {
        stdout = await run(args, signal);
      } catch (error) {
        throw await chartErrorOf(error, what, source, signal);
      }
      return { objects: parseRenderedManifest(stdout, what), digest: `sha256:${createHash('sha256').update(stdout).digest('hex')}` };
    } finally {
      await rm(valuesFile, { force: true });
    }
  }

  /** helm's failure as a ChartError; a "not found" is asked again without the version to tell a missing chart from a missing version. */
  async function chartErrorOf(error: unknown, what: string, source: ChartSource, signal: AbortSignal): Promise<unknown> {
    if (!(error instanceof HelmRunFailure)) return error;
    switch (error.kind) {
      case 'aborted':
        return signal.reason ?? error;
      case 'missing':
        return new ChartError('HelmMissing', `${what}: the helm binary "${binary}" was not found (install helm 3, or set TUGBOAT_HELM_BINARY)`, { cause: error });
      case 'timeout':
        return new ChartError('Timeout', `${what}: helm did not finish within ${timeoutMs} ms`, { cause: error });
      case 'too-large':
        return new ChartError('TooLarge', `${what}: the rendered chart is larger than ${maxOutputBytes} bytes`, { cause: error });
      case 'exit':
        break;
    }
    const message = helmMessage(error.stderr);
    const reason: ChartErrorReason = classifyHelmFailure(message);
    if (reason !== 'VersionNotFound') return new ChartError(reason, `${what}: ${message}`, { cause: error });
    const showArgs = helmShowChartArguments(source, plainHttpHosts);
    const probe = await (showArgs ? run(showArgs, signal) : Promise.reject(new Error('no arguments'))).then(
      (chartYaml) => ({ ok: true as const, latest: /^version: *["']?([^"'\s]+)/m.exec(chartYaml)?.[1] }),
      (probeError: unknown) => ({ ok: false as const, message: probeError instanceof HelmRunFailure && probeError.kind === 'exit' ? helmMessage(probeError.stderr) : undefined }),
    );
    if (probe.ok) return new ChartError('VersionNotFound', `${what}: ${message}${probe.latest ? ` (the latest version there is ${probe.latest})` : ''}`, { cause: error });
    if (probe.message !== undefined && classifyHelmFailure(probe.message) === 'VersionNotFound' && !NO_VERSION_TAGS.test(probe.message)) {
      return new ChartError('ChartNotFound', `${what}: ${probe.message}`, { cause: error });
    }
    return new ChartError('VersionNotFound', `${what}: ${message}`, { cause: error });
  }

  return {
    async render(input) {
      const source = { ...input.source, repository: mirrorRepository(input.source.repository, mirrors) };
      const key = JSON.stringify([source.repository, source.chart, source.version, input.releaseName, input.namespace, canonicalJson(input.values ?? {}), input.includeCrds === true, input.kubeVersion ?? null]);
      const result = await cache.get(key, (signal) => renderUncached(input, source, signal), input.signal);
      // Callers may change what they get (labels, namespaces); the cached copy stays as helm made it.
      return { objects: structuredClone(result.objects), digest: result.digest };
    },
  };
}

/** `chart "cert-manager" v1.17.2 from https://charts.jetstack.io` (and the mirror it was fetched from, if any). */
function describe(requested: ChartSource, fetched: ChartSource): string {
  const base = `chart "${requested.chart}" ${requested.version} from ${requested.repository}`;
  return fetched.repository === requested.repository.replace(/\/+$/, '') ? base : `${base} (mirror ${fetched.repository})`;
}

/** JSON with object keys sorted at every level: equal values give equal keys whatever their order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
