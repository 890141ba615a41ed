import { isErrorCode, isTugboatError } from '@tugboat/resource-model';
import { isUsageError } from './usage-error.js';

/** Exit codes of `tug`; see the package README. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;
/** Stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

export interface ErrorReport {
  exitCode: number;
  /** Lines for stderr, without the trailing newline. */
  lines: string[];
}

export interface DescribeErrorOptions {
  serverUrl: string;
  /** Names the object the failed request was about, e.g. `WorkloadInstance/web`. */
  subject?: string;
}

/**
 * Turns any failure into what the user should read and the exit code: the API's message with each
 * `details[].path: rule`, and a hint where the fix is not obvious.
 */
export function describeError(error: unknown, options: DescribeErrorOptions): ErrorReport {
  const prefix = options.subject === undefined ? 'error: ' : `error: ${options.subject}: `;
  if (isUnreachable(error)) {
    return {
      exitCode: EXIT_UNREACHABLE,
      lines: [`error: cannot reach the API at ${options.serverUrl}: is it running? (\`pnpm start\`)`],
    };
  }
  if (!isTugboatError(error)) {
    return { exitCode: EXIT_FAILED, lines: [`${prefix}${error instanceof Error ? error.message : String(error)}`] };
  }
  const lines = [`${prefix}${error.message}`];
  for (const detail of error.details) {
    lines.push(`  ${detail.path}: ${detail.rule}${detail.message ? ` (${detail.message})` : ''}`);
  }
  if (isUsageError(error)) return { exitCode: EXIT_USAGE, lines };
  if (isErrorCode(error, 'Unauthenticated') && error.details.some((detail) => detail.rule === 'revoked' || detail.rule === 'expired')) {
    lines.push('  hint: this token no longer works: pass another with --token or TUGBOAT_TOKEN; the platform admin makes one with `tug token create`');
  } else if (isErrorCode(error, 'Unauthenticated')) {
    lines.push('  hint: pass --token or set TUGBOAT_TOKEN; `tug up` keeps the admin token in STATE_DIR/admin-token');
  } else if (isErrorCode(error, 'Conflict') && error.details.some((detail) => detail.rule === 'in-use')) {
    lines.push('  hint: delete those first, or pass --cascade to delete them with it');
  }
  return { exitCode: EXIT_FAILED, lines };
}

/**
 * The API client reports a failed connection as `Unavailable` with the network error as its
 * cause; a 503 answered by the API itself has no cause.
 */
export function isUnreachable(error: unknown): boolean {
  if (!isErrorCode(error, 'Unavailable')) return false;
  const cause = (error as Error & { cause?: unknown }).cause;
  return cause !== undefined && !isTugboatError(cause);
}
