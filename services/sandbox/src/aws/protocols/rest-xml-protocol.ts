/** REST-XML (Route 53): routed like REST-JSON, XML bodies in and out, errors in `<ErrorResponse>`. */
import { AwsRequestError, type AwsRequestFailure } from '../aws-error.js';
import { matchPathTemplate } from '../aws-operation.js';
import type { AwsProtocol } from './aws-protocol.js';
import { fromXml, toXml } from './xml.js';

const FAILURES: Record<AwsRequestFailure, { code: string; status: number }> = {
  'missing-authentication': { code: 'MissingAuthenticationToken', status: 403 },
  'incomplete-signature': { code: 'IncompleteSignature', status: 403 },
  'unknown-access-key': { code: 'InvalidClientTokenId', status: 403 },
  'signature-mismatch': { code: 'SignatureDoesNotMatch', status: 403 },
  'expired-token': { code: 'ExpiredToken', status: 403 },
  throttling: { code: 'Throttling', status: 400 },
  'unknown-operation': { code: 'InvalidAction', status: 404 },
  'malformed-body': { code: 'MalformedXML', status: 400 },
};

export function createRestXmlProtocol(): AwsProtocol {
  return {
    name: 'rest-xml',
    resolve(operations, request) {
      for (const operation of operations) {
        if (operation.http === undefined || operation.http.method !== request.method) continue;
        const params = matchPathTemplate(operation.http.path, request.path);
        if (params === undefined) continue;
        return { operation, params, input: parseXmlBody(request.body) };
      }
      return undefined;
    },
    renderResult(operation, result, requestId) {
      const root = operation.xmlRoot ?? `${operation.operation}Response`;
      const content: Record<string, unknown> = { ...(result as Record<string, unknown> | undefined) };
      const headers: Record<string, string> = { 'content-type': 'text/xml', 'x-amzn-requestid': requestId };
      for (const [member, header] of Object.entries(operation.http?.headers ?? {})) {
        if (content[member] !== undefined) headers[header] = String(content[member]);
        delete content[member];
      }
      if (operation.xmlNamespace) content['@_xmlns'] = operation.xmlNamespace;
      return {
        status: operation.http?.status ?? 200,
        headers,
        body: toXml({ [root]: content }),
      };
    },
    renderError(error, requestId) {
      return {
        status: error.status,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: toXml({ ErrorResponse: { Error: { Type: error.fault, Code: error.code, Message: error.message }, RequestId: requestId } }),
      };
    },
    failure: (failure) => FAILURES[failure],
  };
}

function parseXmlBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    return fromXml(body.toString('utf8'));
  } catch (error) {
    throw new AwsRequestError('malformed-body', `request body is not valid XML: ${(error as Error).message}`);
  }
}
