/**
 * Why a chart could not be rendered, in words an operator acts on (helm's own message, with the
 * chart, version and repository it was asked for).
 */

export type ChartErrorReason = 'ChartNotFound' | 'VersionNotFound' | 'RepositoryUnreachable' | 'RenderFailed' | 'TooLarge' | 'Timeout' | 'HelmMissing';

/** Reasons that may pass without anyone changing the chart or its values: worth retrying with backoff. */
const RETRYABLE: ReadonlySet<ChartErrorReason> = new Set(['RepositoryUnreachable', 'Timeout', 'HelmMissing']);

export class ChartError extends Error {
  override readonly name = 'ChartError';
  readonly reason: ChartErrorReason;
  /** False when only a change of the source or the values can fix it (a missing version, a template error). */
  readonly retryable: boolean;

  constructor(reason: ChartErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.retryable = RETRYABLE.has(reason);
  }
}

/** Recognises a ChartError from any copy of this package (by name and reason, not by class identity). */
export function isChartError(error: unknown): error is ChartError {
  return error instanceof Error && error.name === 'ChartError' && typeof (error as { reason?: unknown }).reason === 'string';
}
