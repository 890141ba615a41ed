/**
 * The EC2 variant of the Query protocol. Requests are the same form (`Action=…&Version=2016-11-15`,
 * lists flattened as `VpcId.1`, `Filter.1.Value.1`), but answers have no `…Result` wrapper and no
 * `ResponseMetadata`: `<CreateVpcResponse xmlns=…><requestId>…</requestId><vpc>…</vpc>`, lists as
 * `<vpcSet><item>…</item></vpcSet>`; errors are `<Response><Errors><Error><Code>`, and throttling is
 * `RequestLimitExceeded` (HTTP 503), which the AWS SDKs and botocore retry as throttling.
 */
import type { AwsRequestFailure } from '../aws-error.js';
import type { AwsProtocol } from './aws-protocol.js';
import { createQueryProtocol } from './query-protocol.js';
import { toXml } from './xml.js';

const FAILURES: Record<AwsRequestFailure, { code: string; status: number }> = {
  'missing-authentication': { code: 'MissingAuthenticationToken', status: 401 },
  'incomplete-signature': { code: 'IncompleteSignature', status: 400 },
  'unknown-access-key': { code: 'AuthFailure', status: 401 },
  'signature-mismatch': { code: 'SignatureDoesNotMatch', status: 403 },
  'expired-token': { code: 'RequestExpired', status: 400 },
  throttling: { code: 'RequestLimitExceeded', status: 503 },
  'unknown-operation': { code: 'InvalidAction', status: 400 },
  'malformed-body': { code: 'MalformedQueryString', status: 400 },
};

export function createEc2Protocol(): AwsProtocol {
  const query = createQueryProtocol();
  return {
    name: 'ec2',
    resolve: (operations, request) => query.resolve(operations, request),
    renderResult(operation, result, requestId) {
      const root: Record<string, unknown> = {};
      if (operation.xmlNamespace) root['@_xmlns'] = operation.xmlNamespace;
      root.requestId = requestId;
      if (result !== undefined && result !== null) Object.assign(root, result);
      return {
        status: 200,
        headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId },
        body: toXml({ [`${operation.operation}Response`]: root }),
      };
    },
    renderError(error, requestId) {
      return {
        status: error.status,
        headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId },
        body: toXml({ Response: { Errors: { Error: { Code: error.code, Message: error.message } }, RequestID: requestId } }),
      };
    },
    failure: (failure) => FAILURES[failure],
  };
}
