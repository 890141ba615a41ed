import { createHash } from 'node:crypto';
import { canonicalRequest, computeSignature, parseAuthorization } from './sigv4.js';

// The worked example of the SigV4 documentation (IAM ListUsers, 2015-08-30).
const example = {
  method: 'GET',
  url: '/?Action=ListUsers&Version=2010-05-08',
  headers: {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: 'iam.amazonaws.com',
    'x-amz-date': '20150830T123600Z',
  },
  body: Buffer.alloc(0),
};
const scope = { accessKeyId: 'AKIDEXAMPLE', date: '20150830', region: 'us-east-1', service: 'iam', signedHeaders: ['content-type', 'host', 'x-amz-date'] };

describe('SigV4', () => {
  it('builds the canonical request and signature of the documented example', () => {
    const canonical = canonicalRequest(example, scope.signedHeaders);
    expect(createHash('sha256').update(canonical).digest('hex')).toBe('f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59');
    expect(computeSignature(example, scope, 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')).toBe(
      '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    );
  });

  it('reads the Authorization header and says what is wrong with a garbled one', () => {
    expect(
      parseAuthorization(
        `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'5'.repeat(64)}`,
      ),
    ).toEqual({ ...scope, signature: '5'.repeat(64) });
    expect(parseAuthorization(undefined)).toBeUndefined();
    const failures: Array<[string, RegExp]> = [
      ['Basic abc', /AWS4-HMAC-SHA256/],
      ['AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request', /'SignedHeaders', 'Signature'/],
      [`AWS4-HMAC-SHA256 Credential=AKID/20150830/iam/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`, /AKID\/yyyymmdd/],
      [`AWS4-HMAC-SHA256 Credential=AKID/20150830//iam/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`, /region/],
      [`AWS4-HMAC-SHA256 Credential=AKID/2015-08-30/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`, /yyyymmdd/],
      ['AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=xyz', /64 lower-case hex/],
    ];
    for (const [header, message] of failures) {
      expect(() => parseAuthorization(header)).toThrow(expect.objectContaining({ failure: 'incomplete-signature', message: expect.stringMatching(message) }));
    }
  });
});
