/**
 * EKS bearer tokens, as `aws eks get-token` and aws-iam-authenticator make them:
 * `k8s-aws-v1.` + base64url(a presigned STS GetCallerIdentity URL whose signed headers include
 * `x-k8s-aws-id: <cluster name>`). The sandbox checks them the way EKS does — against its own
 * credential store instead of calling STS — so a client that reaches an EKS cluster through its
 * `endpoint` with such a token works unchanged.
 */
import { parseAuthorization, signatureMatches } from '../sigv4.js';
import type { AwsCaller } from '../aws-operation.js';
import { DEFAULT_USER_NAME, type CredentialStore } from '../credential-store.js';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** aws-iam-authenticator accepts a token for 15 minutes after it was signed. */
const TOKEN_LIFETIME_MS = 15 * 60_000;

export type EksTokenCheck = { ok: true; caller: AwsCaller } | { ok: false; reason: string };

export function isEksToken(bearer: string): boolean {
  return bearer.startsWith(EKS_TOKEN_PREFIX);
}

export function verifyEksToken(
  token: string,
  options: { clusterName: string; credentials: CredentialStore; now: number },
): EksTokenCheck {
  if (!isEksToken(token)) return { ok: false, reason: 'not an EKS token' };
  let url: URL;
  try {
    url = new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'the token does not hold a URL' };
  }
  const query = url.searchParams;
  if (query.get('Action') !== 'GetCallerIdentity') return { ok: false, reason: 'the token is not a presigned GetCallerIdentity' };
  const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (!signedHeaders.includes('x-k8s-aws-id')) return { ok: false, reason: 'the token does not sign x-k8s-aws-id' };
  let auth;
  try {
    auth = parseAuthorization(
      `${query.get('X-Amz-Algorithm') ?? ''} Credential=${query.get('X-Amz-Credential') ?? ''}, SignedHeaders=${signedHeaders.join(';')}, Signature=${query.get('X-Amz-Signature') ?? ''}`,
    );
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (auth === undefined || auth.service !== 'sts') return { ok: false, reason: 'the token is not signed for sts' };
  const signedAt = parseAmzDate(query.get('X-Amz-Date') ?? '');
  if (signedAt === undefined) return { ok: false, reason: 'X-Amz-Date is missing or malformed' };
  if (options.now - signedAt > TOKEN_LIFETIME_MS) return { ok: false, reason: 'the token has expired' };

  const known = options.credentials.lookup(auth.accessKeyId);
  if (known === undefined) {
    if (options.credentials.restricted || auth.accessKeyId.startsWith('ASIA')) return { ok: false, reason: 'unknown access key' };
    return { ok: true, caller: { accessKeyId: auth.accessKeyId, principal: { type: 'user', userName: DEFAULT_USER_NAME } } };
  }
  if (known.expiresAt !== undefined && known.expiresAt <= options.now) return { ok: false, reason: 'the credentials have expired' };
  if (known.sessionToken !== undefined && query.get('X-Amz-Security-Token') !== known.sessionToken) {
    return { ok: false, reason: 'the session token does not match' };
  }
  const headers = { host: url.host, 'x-k8s-aws-id': options.clusterName, 'x-amz-date': query.get('X-Amz-Date') ?? '' };
  const target = `${url.pathname}${url.search}`;
  // Presigners differ on the payload hash: botocore signs the empty body, others UNSIGNED-PAYLOAD.
  const matches =
    signatureMatches({ method: 'GET', url: target, headers, body: Buffer.alloc(0) }, auth, known.secretAccessKey) ||
    signatureMatches(
      { method: 'GET', url: target, headers: { ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body: Buffer.alloc(0) },
      auth,
      known.secretAccessKey,
    );
  if (!matches) return { ok: false, reason: `the signature does not match (a token for another cluster than ${options.clusterName}?)` };
  return { ok: true, caller: { accessKeyId: known.accessKeyId, principal: known.principal } };
}

function parseAmzDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}
