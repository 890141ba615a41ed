/**
 * The `helm template` command line for a render. Flags take their values in `--flag=value` form
 * and the positional arguments come after `--`, so no input (a release name, a chart name) can be
 * read as a flag: helm is run without a shell, and argv is all there is to get right.
 */
import type { ChartSource } from './chart-source.js';
import { repositoryKind } from './repository-mirrors.js';

export interface HelmTemplateRequest {
  /** The source after mirroring: where helm fetches from. */
  source: ChartSource;
  releaseName: string;
  namespace: string;
  includeCrds?: boolean | undefined;
  kubeVersion?: string | undefined;
  /** A values file (JSON) to pass with `--values`. */
  valuesFile?: string | undefined;
}

/** `undefined` when the repository is neither `http(s)://` nor `oci://`. */
export function helmTemplateArguments(request: HelmTemplateRequest, plainHttpHosts: readonly string[] = []): string[] | undefined {
  const source = chartReference(request.source, plainHttpHosts);
  if (source === undefined) return undefined;
  const args = ['template', `--namespace=${request.namespace}`, `--version=${request.source.version}`, ...source.flags, '--skip-tests'];
  if (request.includeCrds) args.push('--include-crds');
  if (request.kubeVersion !== undefined) args.push(`--kube-version=${request.kubeVersion}`);
  if (request.valuesFile !== undefined) args.push(`--values=${request.valuesFile}`);
  args.push('--', request.releaseName, source.chart);
  return args;
}

/**
 * `helm show chart` without a version: whether the repository has the chart at all, and its latest
 * version (asked after a "version not found", which helm words the same for a missing chart).
 */
export function helmShowChartArguments(source: ChartSource, plainHttpHosts: readonly string[] = []): string[] | undefined {
  const reference = chartReference(source, plainHttpHosts);
  return reference === undefined ? undefined : ['show', 'chart', ...reference.flags, '--', reference.chart];
}

function chartReference(source: ChartSource, plainHttpHosts: readonly string[]): { chart: string; flags: string[] } | undefined {
  const repository = source.repository.replace(/\/+$/, '');
  switch (repositoryKind(repository)) {
    case 'http':
      return { chart: source.chart, flags: [`--repo=${repository}`] };
    case 'oci': {
      const host = repository.slice('oci://'.length).split('/')[0] ?? '';
      return { chart: `${repository}/${source.chart}`, flags: plainHttpHosts.includes(host) ? ['--plain-http'] : [] };
    }
    default:
      return undefined;
  }
}
