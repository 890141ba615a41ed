/**
 * What every Tugboat controller that provisions in AWS shares around its SDK calls: "already gone"
 * in each service's words, the crash-test kill point's error, and the controller's own refusals.
 */
import { MissingCredentials } from './account.js';
import { awsErrorName, awsMessage, classifyAwsError } from './aws-errors.js';

/** Thrown at an armed kill point (tests); never caught as an AWS error. */
export class KilledAtPoint extends Error {
  override readonly name = 'KilledAtPoint';
}

/**
 * A permanent refusal the controller decides itself (a name taken by someone else, a downgrade):
 * the object is Failed with `reason` until its spec changes.
 */
export class ProvisioningRefused extends Error {
  override readonly name = 'ProvisioningRefused';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** An AWS error's code without the SDK's `Fault` / `Exception` suffix: `DBInstanceNotFound`, `InvalidGroup.NotFound`. */
export function awsCode(error: unknown): string {
  return awsErrorName(error).replace(/(Fault|Exception)$/, '');
}

/** "Already gone" in each service's words: a delete or a lookup that finds nothing. */
export function isNotFound(error: unknown): boolean {
  const code = awsCode(error);
  return code.endsWith('NotFound') || code === 'NoSuchEntity' || code === 'ResourceNotFound' || code === 'NotFound' || code.startsWith('NoSuch');
}

/** Runs `call`, answering `undefined` when AWS says the thing does not exist. */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** How an object's status takes a failed AWS call: Failed until someone fixes it, or Progressing with a growing retry delay. */
export interface AwsFailure {
  phase: 'Failed' | 'Progressing';
  reason: string;
  message: string;
  /** Consecutive failures so far (0 for a Failed: nothing is retried until the spec or account changes). */
  retries: number;
  /** When to try again; absent for Failed. */
  retryAfterMs?: number;
  /** AWS refused the credentials: forget the cached ones. */
  credentialsRefused: boolean;
}

/**
 * The status words for a failed AWS call at `step`: refused credentials and permanent refusals
 * are Failed with AWS's message; throttling and transient errors back off exponentially from
 * `retryMs` (doubling per consecutive failure, at most 2^`maxExponent` times).
 */
export function awsFailure(error: unknown, options: { step: string; previousRetries: number; retryMs: number; maxExponent?: number }): AwsFailure {
  const { step } = options;
  if (error instanceof ProvisioningRefused) return { phase: 'Failed', reason: error.reason, message: `${step}: ${error.message}`, retries: 0, credentialsRefused: false };
  if (error instanceof MissingCredentials) return { phase: 'Failed', reason: 'InvalidCredentials', message: `${step}: ${error.message}`, retries: 0, credentialsRefused: false };
  const kind = classifyAwsError(error);
  if (kind === 'Refused') return { phase: 'Failed', reason: 'InvalidCredentials', message: `${step}: ${awsMessage(error)}`, retries: 0, credentialsRefused: true };
  if (kind === 'Permanent') return { phase: 'Failed', reason: 'ProvisioningFailed', message: `${step}: ${awsMessage(error)}`, retries: 0, credentialsRefused: false };
  const retries = options.previousRetries + 1;
  const delay = options.retryMs * 2 ** Math.min(retries - 1, options.maxExponent ?? 6);
  const when = delay < 1000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`;
  return {
    phase: 'Progressing',
    reason: step,
    message: `${kind === 'Throttled' ? 'AWS throttles' : 'AWS failed'} (${awsMessage(error)}); retry ${retries} in ${when}`,
    retries,
    retryAfterMs: delay,
    credentialsRefused: false,
  };
}
