/** What to render: a chart in a repository, and the release it is rendered as. */

export interface ChartSource {
  /** `https://…` (an HTTP chart repository) or `oci://host/path` (the registry path the chart sits under). */
  repository: string;
  chart: string;
  version: string;
}

export interface RenderChartInput {
  source: ChartSource;
  releaseName: string;
  namespace: string;
  values?: Record<string, unknown>;
  /** Also emit the chart's `crds/` directory (`--include-crds`). */
  includeCrds?: boolean;
  /** The Kubernetes version the chart's `kubeVersion` and `.Capabilities` see (`--kube-version`). */
  kubeVersion?: string;
  signal?: AbortSignal;
}

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface RenderedChart {
  /** The rendered objects, in helm's install order. Each call gets its own copy. */
  objects: RenderedObject[];
  /** `sha256:<hex>` of helm's output: the same chart, values and flags give the same digest. */
  digest: string;
}
