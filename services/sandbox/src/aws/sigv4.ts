/**
 * AWS Signature Version 4, as the sandbox checks it: the `Authorization` header's shape, the
 * credential scope (date/region/service), and — when the secret of the access key is known — the
 * signature itself, recomputed from the canonical request.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AwsRequestError } from './aws-error.js';

export interface SigV4Authorization {
  accessKeyId: string;
  /** `yyyymmdd` from the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** Only reads the header; `undefined` when there is none. Throws `incomplete-signature` when it is garbled. */
export function parseAuthorization(header: string | undefined): SigV4Authorization | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (!trimmed.startsWith(`${ALGORITHM} `)) {
    throw new AwsRequestError('incomplete-signature', `Authorization header requires the ${ALGORITHM} algorithm.`);
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const missing = [
    credential === undefined ? 'Credential' : undefined,
    signedHeaders === undefined ? 'SignedHeaders' : undefined,
    signature === undefined ? 'Signature' : undefined,
  ].filter((name) => name !== undefined);
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw new AwsRequestError(
      'incomplete-signature',
      `Authorization header requires ${missing.map((name) => `'${name}'`).join(', ')} parameter(s). Authorization=${trimmed}`,
    );
  }
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    throw new AwsRequestError('incomplete-signature', `Credential must have the form AKID/yyyymmdd/region/service/aws4_request, got '${credential}'.`);
  }
  const [accessKeyId = '', date = '', region = '', service = ''] = scope;
  if (accessKeyId === '') throw new AwsRequestError('incomplete-signature', 'Credential has no access key id.');
  if (!/^\d{8}$/.test(date)) throw new AwsRequestError('incomplete-signature', `Credential date must be yyyymmdd, got '${date}'.`);
  if (region === '') throw new AwsRequestError('incomplete-signature', "Credential should be scoped to a valid region, not ''.");
  if (service === '') throw new AwsRequestError('incomplete-signature', "Credential should be scoped to a valid service, not ''.");
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new AwsRequestError('incomplete-signature', 'Signature must be 64 lower-case hex digits.');
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';').filter(Boolean), signature };
}

export interface SignedRequest {
  method: string;
  /** The raw request target as received: path and query, still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Recomputes the signature with `secretAccessKey` and compares it with the one sent. */
export function signatureMatches(request: SignedRequest, auth: SigV4Authorization, secretAccessKey: string): boolean {
  const expected = computeSignature(request, auth, secretAccessKey);
  const sent = Buffer.from(auth.signature, 'hex');
  const wanted = Buffer.from(expected, 'hex');
  return sent.length === wanted.length && timingSafeEqual(sent, wanted);
}

export function computeSignature(request: SignedRequest, auth: Omit<SigV4Authorization, 'signature'>, secretAccessKey: string): string {
  const amzDate = headerValue(request.headers, 'x-amz-date') ?? '';
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest(request, auth.signedHeaders))].join('\n');
  let key: Buffer = hmac(`AWS4${secretAccessKey}`, auth.date);
  for (const part of [auth.region, auth.service, 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

/** The canonical request of SigV4 for services other than S3 (whose paths are encoded twice). */
export function canonicalRequest(request: SignedRequest, signedHeaders: string[]): string {
  const queryStart = request.url.indexOf('?');
  const path = queryStart < 0 ? request.url : request.url.slice(0, queryStart);
  const query = queryStart < 0 ? '' : request.url.slice(queryStart + 1);
  const headers = signedHeaders.map((name) => `${name}:${(headerValue(request.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = headerValue(request.headers, 'x-amz-content-sha256') ?? sha256Hex(request.body);
  return [request.method.toUpperCase(), canonicalPath(path), canonicalQuery(query), headers, signedHeaders.join(';'), payloadHash].join('\n');
}

function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `/${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = decodeQueryPart(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decodeQueryPart(pair.slice(eq + 1));
      return [escapeUri(key), escapeUri(value)] as const;
    })
    .filter(([key]) => key !== 'X-Amz-Signature');
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** RFC 3986 encoding, as SigV4 wants it (`encodeURIComponent` leaves `!'()*` alone). */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(',') : value;
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
