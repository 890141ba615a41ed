/**
 * An error as an AWS service reports it on the wire. This is the simulated cloud's own vocabulary
 * (`ResourceInUseException`, `InvalidClientTokenId` …), distinct from Tugboat's error family, which
 * the sandbox uses for its control API. Each protocol renders it in its own shape.
 */
export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  /** Query protocol `<Type>`: who is to blame. */
  readonly fault: 'Sender' | 'Receiver';

  constructor(code: string, message: string, options: { status?: number; fault?: 'Sender' | 'Receiver' } = {}) {
    super(message);
    this.name = 'AwsError';
    this.code = code;
    this.status = options.status ?? 400;
    this.fault = options.fault ?? (this.status >= 500 ? 'Receiver' : 'Sender');
  }
}

export function isAwsError(value: unknown): value is AwsError {
  return value instanceof AwsError;
}

/**
 * Failures found before an operation runs (authentication, throttling). Their codes differ by
 * protocol: REST-JSON services say `UnrecognizedClientException`, Query services `InvalidClientTokenId`.
 */
export type AwsRequestFailure =
  | 'missing-authentication'
  | 'incomplete-signature'
  | 'unknown-access-key'
  | 'signature-mismatch'
  | 'expired-token'
  | 'throttling'
  | 'unknown-operation'
  | 'malformed-body';

export class AwsRequestError extends Error {
  readonly failure: AwsRequestFailure;
  constructor(failure: AwsRequestFailure, message: string) {
    super(message);
    this.name = 'AwsRequestError';
    this.failure = failure;
  }
}
