/** REST-JSON (EKS …): routed by method and path template, JSON in and out, errors named by `x-amzn-errortype`. */
import { AwsRequestError, type AwsRequestFailure } from '../aws-error.js';
import { matchPathTemplate } from '../aws-operation.js';
import type { AwsProtocol } from './aws-protocol.js';

const FAILURES: Record<AwsRequestFailure, { code: string; status: number }> = {
  'missing-authentication': { code: 'MissingAuthenticationTokenException', status: 403 },
  'incomplete-signature': { code: 'IncompleteSignatureException', status: 403 },
  'unknown-access-key': { code: 'UnrecognizedClientException', status: 403 },
  'signature-mismatch': { code: 'InvalidSignatureException', status: 403 },
  'expired-token': { code: 'ExpiredTokenException', status: 403 },
  throttling: { code: 'ThrottlingException', status: 400 },
  'unknown-operation': { code: 'UnknownOperationException', status: 404 },
  'malformed-body': { code: 'SerializationException', status: 400 },
};

export function createRestJsonProtocol(): AwsProtocol {
  return {
    name: 'rest-json',
    resolve(operations, request) {
      for (const operation of operations) {
        if (operation.http === undefined || operation.http.method !== request.method) continue;
        const params = matchPathTemplate(operation.http.path, request.path);
        if (params === undefined) continue;
        return { operation, params, input: parseJsonBody(request.body) };
      }
      return undefined;
    },
    renderResult(operation, result, requestId) {
      return {
        status: operation.http?.status ?? 200,
        headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
        body: JSON.stringify(result ?? {}),
      };
    },
    renderError(error, requestId) {
      return {
        status: error.status,
        headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId, 'x-amzn-errortype': error.code },
        body: JSON.stringify({ message: error.message }),
      };
    },
    failure: (failure) => FAILURES[failure],
  };
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
