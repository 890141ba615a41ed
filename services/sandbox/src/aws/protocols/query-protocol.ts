/**
 * The Query protocol (STS, IAM, RDS; EC2 has its own variant, `ec2-protocol.ts`): `Action=…&Version=…` form-encoded (or in the query
 * string), answers `<XResponse><XResult>…</XResult><ResponseMetadata>…`, errors `<ErrorResponse>`.
 */
import type { AwsRequestFailure } from '../aws-error.js';
import type { AwsProtocol } from './aws-protocol.js';
import { toXml } from './xml.js';

const FAILURES: Record<AwsRequestFailure, { code: string; status: number }> = {
  'missing-authentication': { code: 'MissingAuthenticationToken', status: 403 },
  'incomplete-signature': { code: 'IncompleteSignature', status: 403 },
  'unknown-access-key': { code: 'InvalidClientTokenId', status: 403 },
  'signature-mismatch': { code: 'SignatureDoesNotMatch', status: 403 },
  'expired-token': { code: 'ExpiredToken', status: 403 },
  throttling: { code: 'Throttling', status: 400 },
  'unknown-operation': { code: 'InvalidAction', status: 400 },
  'malformed-body': { code: 'MalformedQueryString', status: 400 },
};

export function createQueryProtocol(): AwsProtocol {
  return {
    name: 'query',
    resolve(operations, request) {
      const params = new URLSearchParams(request.query);
      if (request.method === 'POST' && request.body.length > 0) {
        for (const [key, value] of new URLSearchParams(request.body.toString('utf8'))) params.append(key, value);
      }
      const action = params.get('Action');
      const operation = operations.find((candidate) => candidate.operation === action);
      if (operation === undefined) return undefined;
      const input: Record<string, unknown> = {};
      for (const [key, value] of params) if (key !== 'Action' && key !== 'Version') input[key] = value;
      return { operation, params: {}, input };
    },
    renderResult(operation, result, requestId) {
      const name = operation.operation;
      const root: Record<string, unknown> = {};
      if (operation.xmlNamespace) root['@_xmlns'] = operation.xmlNamespace;
      if (result !== undefined && result !== null) root[`${name}Result`] = result;
      root.ResponseMetadata = { RequestId: requestId };
      return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body: toXml({ [`${name}Response`]: root }) };
    },
    renderError(error, requestId) {
      return {
        status: error.status,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: toXml({
          ErrorResponse: { Error: { Type: error.fault, Code: error.code, Message: error.message }, RequestId: requestId },
        }),
      };
    },
    failure: (failure) => FAILURES[failure],
  };
}
