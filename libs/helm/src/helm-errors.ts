/**
 * helm's error output, sorted into `ChartError` reasons. The message kept is helm's own (`Error:`
 * line onwards, without its `--debug` hint and warnings), which names the chart, the version and
 * the URL it tried.
 */
import type { ChartErrorReason } from './chart-error.js';

/** helm's message from its stderr: what follows `Error: `, else the last non-empty line. */
export function helmMessage(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trimEnd());
  const start = lines.findIndex((line) => line.startsWith('Error: '));
  const kept = (start < 0 ? lines.filter((l) => l !== '').slice(-1) : lines.slice(start))
    .filter((line) => line !== '' && !line.startsWith('Use --debug flag'))
    .join('\n');
  return kept.replace(/^Error: /, '').trim() || 'helm failed without a message';
}

const NOT_FOUND_IN_REPOSITORY = /^chart "[^"]*"( version "[^"]*")? not found in .* repository$/m;
/** A registry that has the chart but no tag helm reads as a version (helm takes strict semver tags only). */
export const NO_VERSION_TAGS = /Unable to locate any tags/;
/** oras: `host/name:tag: not found` (a missing tag or repository), `name unknown`, `manifest unknown`. */
const OCI_NOT_FOUND = /: not found$|\bmanifest unknown\b|\bname unknown\b|\bMANIFEST_UNKNOWN\b|\bNAME_UNKNOWN\b|Unable to locate any tags/m;
/** The chart was fetched; its templates (or the values given to them) are at fault. */
const TEMPLATE_FAILURE = /^template: |^YAML parse error|execution error at|parse error at|^chart requires kubeVersion|invalid release name|^values don't meet the specifications/m;
const UNREACHABLE =
  /is not a valid chart repository or cannot be reached|connection refused|no such host|i\/o timeout|network is unreachable|connection reset|TLS handshake|x509: |tls: |server gave HTTP response to HTTPS client|failed to do request|failed to fetch |unexpected status code (5\d\d|401|403)/m;

/**
 * The reason for a failed `helm template`. "Not found" is `VersionNotFound` here: helm words a
 * missing chart and a missing version alike, and the renderer asks again without the version to
 * tell them apart.
 */
export function classifyHelmFailure(message: string): ChartErrorReason {
  if (TEMPLATE_FAILURE.test(message)) return 'RenderFailed';
  if (NOT_FOUND_IN_REPOSITORY.test(message) || OCI_NOT_FOUND.test(message)) return 'VersionNotFound';
  if (UNREACHABLE.test(message)) return 'RepositoryUnreachable';
  return 'RenderFailed';
}
