/**
 * What every Tugboat controller that provisions in AWS shares around its SDK calls: "already gone"
 * in each service's words, the crash-test kill point's error, and the controller's own refusals.
 */
import { awsErrorName } from './aws-errors.js';

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
