/**
 * Errors from talking to a Kubernetes cluster, sorted into what an operator acts on: the cluster
 * cannot be reached (network, DNS, TLS, an API server answering 502/503/504), the credentials are
 * refused (401/403), the kubeconfig itself is unusable, or anything else (a 4xx/5xx about one request).
 */

export type KubeFailureReason = 'Unreachable' | 'Unauthorized' | 'InvalidKubeconfig' | 'Other';

export interface KubeClusterErrorOptions {
  reason: KubeFailureReason;
  /** The API server's URL, when the kubeconfig named one. */
  endpoint?: string;
  /** The HTTP status the API server answered with, when it answered. */
  status?: number;
  cause?: unknown;
}

export class KubeClusterError extends Error {
  readonly reason: KubeFailureReason;
  readonly endpoint: string | undefined;
  readonly status: number | undefined;

  constructor(message: string, options: KubeClusterErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KubeClusterError';
    this.reason = options.reason;
    this.endpoint = options.endpoint;
    this.status = options.status;
  }
}

export function isKubeClusterError(value: unknown): value is KubeClusterError {
  return value instanceof KubeClusterError;
}

/** Error codes of node's network stack (and undici's) that mean "no answer from that address". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const GATEWAY_STATUSES = new Set([502, 503, 504]);

export interface ClassifyOptions {
  endpoint?: string;
  /** What was being done, e.g. `GET /version`; starts the message. */
  action?: string;
}

/**
 * Turns whatever the Kubernetes client threw into a `KubeClusterError` whose message names the
 * endpoint, what was attempted and what failed. An error that already is one is returned as is.
 */
export function classifyKubeError(error: unknown, options: ClassifyOptions = {}): KubeClusterError {
  if (isKubeClusterError(error)) return error;
  const endpoint = options.endpoint;
  const at = endpoint === undefined ? 'the cluster' : endpoint;
  const doing = options.action === undefined ? '' : `${options.action}: `;
  const status = httpStatusOf(error);
  if (status !== undefined) {
    const said = serverMessage(error);
    const detail = said === undefined ? `HTTP ${status}` : `HTTP ${status} ${said}`;
    if (status === 401) {
      return new KubeClusterError(`${doing}${at} refused the kubeconfig's credentials (${detail}); update the kubeconfig's token or certificate`, {
        reason: 'Unauthorized',
        endpoint,
        status,
        cause: error,
      });
    }
    if (status === 403) {
      return new KubeClusterError(`${doing}${at} denied the kubeconfig's user (${detail}); grant it cluster-admin or use another user`, {
        reason: 'Unauthorized',
        endpoint,
        status,
        cause: error,
      });
    }
    if (GATEWAY_STATUSES.has(status)) {
      return new KubeClusterError(`${doing}${at} is not serving (${detail}); check that the API server is up`, { reason: 'Unreachable', endpoint, status, cause: error });
    }
    return new KubeClusterError(`${doing}${at} answered ${detail}`, { reason: 'Other', endpoint, status, cause: error });
  }
  const code = networkCodeOf(error);
  if (code !== undefined) {
    return new KubeClusterError(`${doing}cannot reach ${at} (${code}${describeCause(error)}); check the address and that the API server is up`, {
      reason: 'Unreachable',
      endpoint,
      cause: error,
    });
  }
  if (isAbortOrTimeout(error)) {
    return new KubeClusterError(`${doing}no answer from ${at} in time (${errorText(error)})`, { reason: 'Unreachable', endpoint, cause: error });
  }
  return new KubeClusterError(`${doing}${at}: ${errorText(error)}`, { reason: 'Other', endpoint, cause: error });
}

/** `ApiException` (client-node) carries `code` as the HTTP status; so does a raw response error. */
function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = (error as { code?: unknown; statusCode?: unknown }).code ?? (error as { statusCode?: unknown }).statusCode;
  return typeof candidate === 'number' && candidate >= 100 && candidate < 600 ? candidate : undefined;
}

/** A Kubernetes `Status` body's message (the body may be a parsed object or a JSON string). */
function serverMessage(error: unknown): string | undefined {
  let body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      const text = body as string;
      return text.length > 0 ? text.slice(0, 300) : undefined;
    }
  }
  if (typeof body === 'object' && body !== null) {
    const message = (body as { message?: unknown }).message;
    if (typeof message === 'string' && message.length > 0) return message;
  }
  return undefined;
}

/** Walks the `cause` chain (fetch wraps the socket error as `TypeError: fetch failed`). */
function networkCodeOf(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 6; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const innerCode = (inner as { code?: unknown } | null)?.code;
        if (typeof innerCode === 'string' && NETWORK_CODES.has(innerCode)) return innerCode;
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeCause(error: unknown): string {
  let deepest: unknown = error;
  for (let depth = 0; depth < 6; depth += 1) {
    const next = (deepest as { cause?: unknown } | null)?.cause;
    if (next === undefined || next === null) break;
    deepest = next;
  }
  const message = deepest instanceof Error ? deepest.message : undefined;
  return message === undefined || message.length === 0 ? '' : `: ${message}`;
}

function isAbortOrTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
