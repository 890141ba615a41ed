export { runCli } from './run-cli.js';
export type { CliOptions, SignalSource, TextSink } from './command-context.js';
export { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE } from './describe-error.js';
export { formatAge, formatResourceTable, formatTable } from './format-table.js';
export { findKind, resolveKind } from './resolve-kind.js';
export { orderManifests } from './order-manifests.js';
