/** `@tugboat/helm`: charts rendered with `helm template`, for controllers that apply them themselves. */
export { ChartError, isChartError, type ChartErrorReason } from './chart-error.js';
export type { ChartSource, RenderChartInput, RenderedChart, RenderedObject } from './chart-source.js';
export { createHelmRenderer, type HelmRenderer, type HelmRendererOptions } from './helm-renderer.js';
export { helmSettingsFromEnv } from './helm-settings.js';
export { execHelm, HelmRunFailure, type HelmRunFailureKind, type HelmRunner, type HelmRunOptions } from './helm-runner.js';
export { helmTemplateArguments, type HelmTemplateRequest } from './helm-arguments.js';
export { mirrorRepository, parseRepositoryMirrors, type RepositoryMirror } from './repository-mirrors.js';
export { parseRenderedManifest } from './rendered-manifest.js';
