import { InputError, type ErrorDetail } from '@tugboat/resource-model';

/**
 * A mistake in how `tug` was called (an unknown kind, a missing file, a malformed manifest),
 * found before any request: exit code 2. Errors the API answers with are not usage errors.
 */
export class UsageError extends InputError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super(message, { details });
  }
}

export function isUsageError(error: unknown): error is UsageError {
  return error instanceof UsageError;
}
