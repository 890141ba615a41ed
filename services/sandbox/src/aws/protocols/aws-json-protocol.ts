/**
 * AWS JSON 1.1 (Secrets Manager …): every request is `POST /` with the operation named by the
 * `X-Amz-Target: <prefix>.<Operation>` header and a JSON body (`application/x-amz-json-1.1`);
 * answers are JSON, errors `{"__type": "<Code>", "message": …}`, which the AWS SDK v3 and botocore
 * both read. Unlike REST-JSON there is no path routing and nothing in the path or query.
 */
import { AwsRequestError, type AwsRequestFailure } from '../aws-error.js';
import type { AwsOperation } from '../aws-operation.js';
import type { AwsProtocol, AwsWireRequest } from './aws-protocol.js';

const CONTENT_TYPE = 'application/x-amz-json-1.1';

// JSON services answer every failure found before the operation with 400.
const FAILURES: Record<AwsRequestFailure, { code: string; status: number }> = {
  'missing-authentication': { code: 'MissingAuthenticationTokenException', status: 400 },
  'incomplete-signature': { code: 'IncompleteSignatureException', status: 400 },
  'unknown-access-key': { code: 'UnrecognizedClientException', status: 400 },
  'signature-mismatch': { code: 'InvalidSignatureException', status: 400 },
  'expired-token': { code: 'ExpiredTokenException', status: 400 },
  throttling: { code: 'ThrottlingException', status: 400 },
  'unknown-operation': { code: 'UnknownOperationException', status: 400 },
  'malformed-body': { code: 'SerializationException', status: 400 },
};

/** The `X-Amz-Target` of a request, when it has exactly one. */
export function amzTarget(request: Pick<AwsWireRequest, 'headers'>): string | undefined {
  const value = request.headers['x-amz-target'];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function createAwsJsonProtocol(): AwsProtocol {
  return {
    name: 'json',
    resolve(operations, request) {
      const target = amzTarget(request);
      if (request.method !== 'POST' || target === undefined) return undefined;
      const operation = operations.find((candidate) => `${targetPrefix(candidate)}.${candidate.operation}` === target);
      if (operation === undefined) return undefined;
      return { operation, params: {}, input: parseJsonBody(request.body) };
    },
    renderResult(_operation, result, requestId) {
      return {
        status: 200,
        headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': requestId },
        body: JSON.stringify(result ?? {}),
      };
    },
    renderError(error, requestId) {
      return {
        status: error.status,
        headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': requestId },
        body: JSON.stringify({ __type: error.code, message: error.message }),
      };
    },
    failure: (failure) => FAILURES[failure],
  };
}

function targetPrefix(operation: AwsOperation): string {
  return operation.targetPrefix ?? operation.service;
}

function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AwsRequestError('malformed-body', `request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsRequestError('malformed-body', 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
