/**
 * The unit a simulated AWS service is made of: one operation of one service, in one protocol.
 * The handler sees parsed input and returns the output shape; the protocol layer does the wire.
 * EC2 (its own variant of Query), IAM and RDS (Query), Secrets Manager (AWS JSON 1.1) or Route 53 (REST-XML) are added as more operations, not new servers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from './credential-store.js';

/** `json` is AWS JSON 1.1: `POST /` with `X-Amz-Target`. */
export type AwsProtocolName = 'rest-json' | 'query' | 'rest-xml' | 'ec2' | 'json';

export interface AwsCaller {
  accessKeyId: string;
  principal: Principal;
}

export interface AwsOperationContext {
  service: string;
  operation: string;
  /** From the SigV4 credential scope. */
  region: string;
  accountId: string;
  requestId: string;
  caller: AwsCaller;
  /** REST protocols: the `{name}` segments of the path template, decoded. */
  params: Record<string, string>;
  /** The query string, decoded (repeated keys keep every value). */
  query: URLSearchParams;
  /**
   * REST-JSON and JSON 1.1: the JSON body (`{}` when empty). Query: the form parameters, flat
   * (`Tags.member.1.Key`). REST-XML: the parsed XML body.
   */
  input: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  signal: AbortSignal;
}

export interface AwsOperation {
  /** SigV4 signing name: `eks`, `sts`, `ec2`, `iam`, `rds`, `secretsmanager`, `route53`. */
  service: string;
  protocol: AwsProtocolName;
  /** As in the API reference and in fault rules: `CreateCluster`, `AssumeRole`. */
  operation: string;
  /**
   * REST protocols: method, path template (`/clusters/{name}`) and success status (default 200).
   * REST-XML: `headers` binds output members to response headers (`{ Location: 'location' }`), as
   * the service model's `httpHeader` does: such a member is sent as that header, not in the body.
   */
  http?: { method: string; path: string; status?: number; headers?: Record<string, string> };
  /** Query, EC2 and REST-XML: the namespace of the answer's root element. */
  xmlNamespace?: string;
  /** JSON 1.1: what comes before the operation in `X-Amz-Target` (default: `service`). */
  targetPrefix?: string;
  /** REST-XML: the answer's root element (default `${operation}Response`). */
  xmlRoot?: string;
  handler(context: AwsOperationContext): unknown;
}

export interface AwsOperationRegistry {
  add(...operations: AwsOperation[]): void;
  /** Protocol of a registered service, `undefined` when nothing is registered for it. */
  protocolOf(service: string): AwsProtocolName | undefined;
  operationsOf(service: string): AwsOperation[];
  all(): AwsOperation[];
}

export function createAwsOperationRegistry(operations: AwsOperation[] = []): AwsOperationRegistry {
  const byService = new Map<string, AwsOperation[]>();
  const registry: AwsOperationRegistry = {
    add(...added) {
      for (const operation of added) {
        const existing = byService.get(operation.service) ?? [];
        const protocol = existing[0]?.protocol;
        if (protocol !== undefined && protocol !== operation.protocol) {
          throw new Error(`service ${operation.service} speaks ${protocol}; ${operation.operation} cannot use ${operation.protocol}`);
        }
        if (existing.some((other) => other.operation === operation.operation)) {
          throw new Error(`operation ${operation.service}:${operation.operation} is already registered`);
        }
        if ((operation.protocol === 'rest-json' || operation.protocol === 'rest-xml') && operation.http === undefined) {
          throw new Error(`REST operation ${operation.service}:${operation.operation} needs http.method and http.path`);
        }
        byService.set(operation.service, [...existing, operation]);
      }
    },
    protocolOf: (service) => byService.get(service)?.[0]?.protocol,
    operationsOf: (service) => byService.get(service) ?? [],
    all: () => [...byService.values()].flat(),
  };
  registry.add(...operations);
  return registry;
}

/** Matches `/clusters/{name}/node-groups` against a raw (percent-encoded) path; returns the decoded params. */
export function matchPathTemplate(template: string, rawPath: string): Record<string, string> | undefined {
  const want = template.split('/').filter(Boolean);
  const got = rawPath.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const expected = want[i] as string;
    let actual: string;
    try {
      actual = decodeURIComponent(got[i] as string);
    } catch {
      return undefined;
    }
    if (expected.startsWith('{') && expected.endsWith('}')) params[expected.slice(1, -1)] = actual;
    else if (expected !== actual) return undefined;
  }
  return params;
}
