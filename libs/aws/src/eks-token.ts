/**
 * EKS bearer tokens, made as `aws eks get-token` makes them: `k8s-aws-v1.` followed by the
 * base64url (unpadded) of an STS GetCallerIdentity URL presigned for 60 seconds, whose signed
 * headers include `x-k8s-aws-id: <cluster name>`. The cluster's authenticator calls that URL to
 * learn who the caller is. EKS accepts such a token for 15 minutes after it was signed; a client
 * makes a new one before then (see `createEksTokenSource`).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** How long EKS accepts a token after its signing time. */
export const EKS_TOKEN_LIFETIME_MS = 15 * 60_000;

/** SHA-256 (and HMAC-SHA-256 with a secret) on node:crypto, in the shape the signer takes. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface EksTokenInput {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  /** The STS endpoint: the regional one by default, the sandbox's URL in tests. */
  stsEndpoint?: string;
  /** The signing time (default now). */
  signingDate?: Date;
}

export interface EksToken {
  token: string;
  /** When EKS stops accepting it. */
  expiresAt: Date;
}

export async function eksToken(input: EksTokenInput): Promise<EksToken> {
  const endpoint = new URL(input.stsEndpoint ?? `https://sts.${input.region}.amazonaws.com`);
  const signingDate = input.signingDate ?? new Date();
  const signer = new SignatureV4({ credentials: input.credentials, region: input.region, service: 'sts', sha256: NodeSha256 });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: endpoint.pathname === '' ? '/' : endpoint.pathname,
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: endpoint.host, 'x-k8s-aws-id': input.clusterName },
    },
    { expiresIn: 60, signingDate },
  );
  const query = Object.entries(signed.query ?? {})
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string').map((v) => `${rfc3986(key)}=${rfc3986(v)}`))
    .join('&');
  const url = `${endpoint.protocol}//${endpoint.host}${signed.path}?${query}`;
  return { token: `${EKS_TOKEN_PREFIX}${Buffer.from(url, 'utf8').toString('base64url')}`, expiresAt: new Date(signingDate.getTime() + EKS_TOKEN_LIFETIME_MS) };
}

/** Percent-encoding as SigV4 canonicalises it (encodeURIComponent leaves `!'()*` alone). */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface EksTokenSourceOptions {
  clusterName: string;
  region: string;
  /** The credentials at the time of signing (they may themselves be renewed, e.g. an assumed role). */
  credentials: () => Promise<AwsCredentialIdentity>;
  stsEndpoint?: string;
  /** A token is replaced once it is this old. Default 10 minutes (EKS takes it for 15). */
  refreshAfterMs?: number;
  now?: () => number;
}

/** A bearer token provider for one cluster: the same token until it is `refreshAfterMs` old. */
export function createEksTokenSource(options: EksTokenSourceOptions): () => Promise<string> {
  const refreshAfterMs = options.refreshAfterMs ?? 10 * 60_000;
  const now = options.now ?? Date.now;
  let held: { token: string; signedAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    const at = now();
    if (held !== undefined && at - held.signedAt < refreshAfterMs) return held.token;
    pending ??= (async () => {
      try {
        const credentials = await options.credentials();
        const { token } = await eksToken({ clusterName: options.clusterName, region: options.region, credentials, signingDate: new Date(at), ...(options.stsEndpoint ? { stsEndpoint: options.stsEndpoint } : {}) });
        held = { token, signedAt: at };
        return token;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}
