/**
 * How a caller should take an AWS error: `Refused` (the credentials are not accepted: nothing will
 * work until someone fixes them), `Throttled` and `Transient` (retry with backoff), or `Permanent`
 * (the request itself is wrong or a limit is reached: retrying the same call cannot help).
 */
export type AwsErrorClass = 'Refused' | 'Throttled' | 'Transient' | 'Permanent';

const REFUSED = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'AccessDenied',
  'AccessDeniedException',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'AuthFailure',
  'MissingAuthenticationToken',
  'RegionDisabledException',
  'CredentialsProviderError',
  'UnauthorizedOperation',
]);

const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'PriorRequestNotComplete',
]);

/** Errors that mean "not yet": the thing is busy or another change is in flight. */
const TRANSIENT = new Set(['InternalFailure', 'InternalError', 'ServiceUnavailable', 'ServiceUnavailableException', 'ServerException', 'RequestTimeout', 'RequestTimeoutException', 'IncorrectState', 'ConcurrentModification', 'ResourceInUseException', 'DependencyViolation', 'DeleteConflict']);

/** Permanent: a parameter AWS refuses, a quota, a resource limit. */
const PERMANENT = new Set([
  'InvalidParameterException',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidParameter',
  'InvalidRequestException',
  'ValidationError',
  'ValidationException',
  'MissingParameter',
  'UnsupportedAvailabilityZoneException',
  'ResourceLimitExceededException',
  'LimitExceeded',
  'LimitExceededException',
  'ServiceQuotaExceededException',
  'VpcLimitExceeded',
  'AddressLimitExceeded',
  'InternetGatewayLimitExceeded',
  'NatGatewayLimitExceeded',
  'RouteTableLimitExceeded',
  'SubnetLimitExceeded',
  'InvalidSubnet.Conflict',
  'InvalidVpc.Range',
  'InvalidSubnet.Range',
  'MalformedPolicyDocument',
  'NoSuchEntity',
]);

interface AwsLikeError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export function awsErrorName(error: unknown): string {
  const { name, Code } = (error ?? {}) as AwsLikeError;
  return Code ?? name ?? 'Error';
}

export function classifyAwsError(error: unknown): AwsErrorClass {
  const e = (error ?? {}) as AwsLikeError;
  const name = awsErrorName(error);
  if (REFUSED.has(name)) return 'Refused';
  if (THROTTLED.has(name) || e.$retryable?.throttling) return 'Throttled';
  if (TRANSIENT.has(name)) return 'Transient';
  if (PERMANENT.has(name) || name.endsWith('.Malformed') || name.endsWith('LimitExceeded')) return 'Permanent';
  const status = e.$metadata?.httpStatusCode;
  if (status === 401 || status === 403) return 'Refused';
  if (status === 429) return 'Throttled';
  return 'Transient';
}

/** `Name: message`, AWS's own words, for a status an operator reads. */
export function awsMessage(error: unknown): string {
  const { message } = (error ?? {}) as AwsLikeError;
  return `${awsErrorName(error)}: ${message ?? String(error)}`;
}
