/**
 * Kubernetes answers every failure with a `Status` object; clients (client-go, client-node) key
 * their behaviour on its `reason` (AlreadyExists vs Conflict are both 409, Invalid vs BadRequest
 * differ in more than the code). This is the wire vocabulary of the Kubernetes half of the
 * sandbox, so it carries its own error type rather than the Tugboat API's error family.
 */

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

const BRAND = Symbol.for('tugboat.sandbox.kube-status-error');

export class KubeStatusError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'KubeStatusError';
  }

  toStatus(): KubeStatus {
    return failureStatus(this.code, this.reason, this.message, this.details);
  }
}

export function isKubeStatusError(value: unknown): value is KubeStatusError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export function failureStatus(code: number, reason: StatusReason, message: string, details?: StatusDetails): KubeStatus {
  const status: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details !== undefined) status.details = details;
  return status;
}

export function successStatus(details?: StatusDetails): KubeStatus {
  const status: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details !== undefined) status.details = details;
  return status;
}

/** The `group/resource` pair real servers put in messages: `deployments.apps`, `pods`. */
export interface QualifiedResource {
  group: string;
  plural: string;
}

function qualified(resource: QualifiedResource): string {
  return resource.group === '' ? resource.plural : `${resource.plural}.${resource.group}`;
}

export function notFound(resource: QualifiedResource, name: string): KubeStatusError {
  return new KubeStatusError(404, 'NotFound', `${qualified(resource)} "${name}" not found`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

export function alreadyExists(resource: QualifiedResource, name: string): KubeStatusError {
  return new KubeStatusError(409, 'AlreadyExists', `${qualified(resource)} "${name}" already exists`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

export function conflict(resource: QualifiedResource, name: string, why: string): KubeStatusError {
  return new KubeStatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource)} "${name}": ${why}`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

export const STALE_OBJECT = 'the object has been modified; please apply your changes to the latest version and try again';

export interface FieldError {
  field: string;
  /** `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, `FieldValueForbidden`, `FieldValueDuplicate`. */
  type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueForbidden' | 'FieldValueDuplicate';
  /** The detail after the field name, e.g. `Required value` or `Invalid value: "Foo": must be lower case`. */
  message: string;
}

/** 422 Invalid, worded as the API server words it: `Deployment.apps "web" is invalid: spec.selector: Required value`. */
export function invalid(kind: { group: string; kind: string }, name: string, errors: FieldError[]): KubeStatusError {
  const qualifiedKind = kind.group === '' ? kind.kind : `${kind.kind}.${kind.group}`;
  const summary = errors.map((error) => `${error.field}: ${error.message}`);
  const message = `${qualifiedKind} "${name}" is invalid: ${summary.length === 1 ? summary[0] : `[${summary.join(', ')}]`}`;
  return new KubeStatusError(422, 'Invalid', message, {
    name,
    group: kind.group,
    kind: kind.kind,
    causes: errors.map((error) => ({ reason: error.type, message: error.message, field: error.field })),
  });
}

export function badRequest(message: string): KubeStatusError {
  return new KubeStatusError(400, 'BadRequest', message);
}
