/** How one AWS wire protocol reads a request, finds its operation and writes answers and errors. */
import type { AwsRequestFailure } from '../aws-error.js';
import type { AwsOperation, AwsProtocolName } from '../aws-operation.js';

export interface AwsWireRequest {
  method: string;
  /** Raw path, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface AwsWireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ResolvedOperation {
  operation: AwsOperation;
  params: Record<string, string>;
  input: Record<string, unknown>;
}

export interface AwsProtocol {
  name: AwsProtocolName;
  /** `undefined` when no operation of the service matches; throws `malformed-body` on unreadable input. */
  resolve(operations: AwsOperation[], request: AwsWireRequest): ResolvedOperation | undefined;
  renderResult(operation: AwsOperation, result: unknown, requestId: string): AwsWireResponse;
  renderError(error: { code: string; status: number; message: string; fault: 'Sender' | 'Receiver' }, requestId: string): AwsWireResponse;
  /** The code and status this protocol's services use for a failure found before the operation runs. */
  failure(failure: AwsRequestFailure): { code: string; status: number };
}
