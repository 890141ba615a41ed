/**
 * The one entry of the simulated AWS: authenticates the request (SigV4), routes it by the signing
 * service of its credential scope to that service's protocol and operation, consults the fault
 * injector, runs the handler and writes the answer in the protocol's wire format.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { FaultInjector } from '../fault-injector.js';
import { AwsError, AwsRequestError, isAwsError } from './aws-error.js';
import type { AwsCaller, AwsOperationRegistry, AwsProtocolName } from './aws-operation.js';
import { DEFAULT_USER_NAME, type CredentialStore } from './credential-store.js';
import type { AwsProtocol, AwsWireRequest, AwsWireResponse } from './protocols/aws-protocol.js';
import { amzTarget, createAwsJsonProtocol } from './protocols/aws-json-protocol.js';
import { createEc2Protocol } from './protocols/ec2-protocol.js';
import { createQueryProtocol } from './protocols/query-protocol.js';
import { createRestJsonProtocol } from './protocols/rest-json-protocol.js';
import { createRestXmlProtocol } from './protocols/rest-xml-protocol.js';
import { parseAuthorization, signatureMatches, type SigV4Authorization } from './sigv4.js';

/** The `Version` of every EC2 request: how an unsigned one is recognised. */
const EC2_API_VERSION = '2016-11-15';

export interface AwsRequestHandlerOptions {
  registry: AwsOperationRegistry;
  credentials: CredentialStore;
  faults: FaultInjector;
  accountId: string;
  logger: Logger;
  now?: () => number;
  /** Largest request body accepted. Default 10 MiB. */
  maxBodyBytes?: number;
}

export type AwsRequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createAwsRequestHandler(options: AwsRequestHandlerOptions): AwsRequestHandler {
  const { registry, credentials, faults, accountId, logger } = options;
  const now = options.now ?? Date.now;
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const protocols: Record<AwsProtocolName, AwsProtocol> = {
    'rest-json': createRestJsonProtocol(),
    query: createQueryProtocol(),
    'rest-xml': createRestXmlProtocol(),
    ec2: createEc2Protocol(),
    json: createAwsJsonProtocol(),
  };

  /** Without a readable credential scope, the request's shape says which protocol to answer in. */
  function guessProtocol(request: AwsWireRequest): AwsProtocol {
    const contentType = String(request.headers['content-type'] ?? '');
    if (contentType.includes('x-www-form-urlencoded') || request.query.has('Action')) {
      const version = request.query.get('Version') ?? new URLSearchParams(request.body.toString('utf8')).get('Version');
      return version === EC2_API_VERSION ? protocols.ec2 : protocols.query;
    }
    if (amzTarget(request) !== undefined) return protocols.json;
    for (const operation of registry.all()) {
      if (operation.protocol !== 'rest-json' && operation.protocol !== 'rest-xml') continue;
      if (operation.http === undefined) continue;
      const prefix = `/${operation.http.path.split('/').filter(Boolean)[0] ?? ''}`;
      if (request.path === prefix || request.path.startsWith(`${prefix}/`)) return protocols[operation.protocol];
    }
    return protocols['rest-json'];
  }

  function authenticate(request: AwsWireRequest, rawUrl: string, auth: SigV4Authorization): AwsCaller {
    const known = credentials.lookup(auth.accessKeyId);
    if (known === undefined) {
      if (credentials.restricted || auth.accessKeyId.startsWith('ASIA')) {
        throw new AwsRequestError('unknown-access-key', 'The security token included in the request is invalid.');
      }
      return { accessKeyId: auth.accessKeyId, principal: { type: 'user', userName: DEFAULT_USER_NAME } };
    }
    if (known.expiresAt !== undefined && known.expiresAt <= now()) {
      throw new AwsRequestError('expired-token', 'The security token included in the request is expired');
    }
    if (known.sessionToken !== undefined && request.headers['x-amz-security-token'] !== known.sessionToken) {
      throw new AwsRequestError('unknown-access-key', 'The security token included in the request is invalid.');
    }
    const signed = { method: request.method, url: rawUrl, headers: request.headers, body: request.body };
    if (!signatureMatches(signed, auth, known.secretAccessKey)) {
      throw new AwsRequestError(
        'signature-mismatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
    return { accessKeyId: known.accessKeyId, principal: known.principal };
  }

  return async function handleAwsRequest(req, res) {
    const requestId = randomUUID();
    const started = now();
    const rawUrl = req.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    let protocol = protocols['rest-json'];
    let service = 'unknown';
    let operationName = 'unknown';
    let answer: AwsWireResponse;
    try {
      const body = await readBody(req, maxBodyBytes);
      const request: AwsWireRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        path: queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart),
        query: new URLSearchParams(queryStart < 0 ? '' : rawUrl.slice(queryStart + 1)),
        headers: req.headers,
        body,
      };
      protocol = guessProtocol(request);
      const header = req.headers.authorization;
      let auth: SigV4Authorization | undefined;
      try {
        auth = parseAuthorization(header);
      } catch (error) {
        const scopeService = /Credential=[^/]*\/[^/]*\/[^/]*\/([^/,\s]+)/.exec(header ?? '')?.[1];
        const known = scopeService === undefined ? undefined : registry.protocolOf(scopeService);
        if (known !== undefined) protocol = protocols[known];
        throw error;
      }
      if (auth === undefined) throw new AwsRequestError('missing-authentication', 'Missing Authentication Token');
      service = auth.service;
      const protocolName = registry.protocolOf(service);
      if (protocolName === undefined) {
        throw new AwsError('UnknownServiceException', `The sandbox does not simulate the AWS service '${service}'.`, { status: 400 });
      }
      protocol = protocols[protocolName];
      const caller = authenticate(request, rawUrl, auth);
      const resolved = protocol.resolve(registry.operationsOf(service), request);
      if (resolved === undefined) {
        const action = request.query.get('Action') ?? `${request.method} ${request.path}`;
        throw new AwsRequestError('unknown-operation', `Could not find operation ${action} for service ${service}`);
      }
      operationName = resolved.operation.operation;
      const fault = await faults.check(service, operationName);
      if (fault !== undefined) {
        if (fault.throttle) throw new AwsRequestError('throttling', fault.message);
        throw new AwsError(fault.code, fault.message, { status: fault.status });
      }
      const abort = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      const result = await resolved.operation.handler({
        service,
        operation: operationName,
        region: auth.region,
        accountId,
        requestId,
        caller,
        params: resolved.params,
        query: request.query,
        input: resolved.input,
        headers: req.headers,
        signal: abort.signal,
      });
      answer = protocol.renderResult(resolved.operation, result, requestId);
    } catch (error) {
      answer = protocol.renderError(toWireError(error, protocol), requestId);
      if (answer.status >= 500) logger.error({ err: error, service, operation: operationName, requestId }, 'aws operation failed');
    }
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
    res.end(answer.body);
    logger.info(
      { service, operation: operationName, status: answer.status, requestId, ms: now() - started },
      `aws ${service}:${operationName} ${answer.status}`,
    );
  };
}

function toWireError(error: unknown, protocol: AwsProtocol): { code: string; status: number; message: string; fault: 'Sender' | 'Receiver' } {
  if (error instanceof AwsRequestError) {
    const { code, status } = protocol.failure(error.failure);
    return { code, status, message: error.message, fault: status >= 500 ? 'Receiver' : 'Sender' };
  }
  if (isAwsError(error)) return { code: error.code, status: error.status, message: error.message, fault: error.fault };
  if (error instanceof BodyTooLargeError) return { code: 'RequestEntityTooLarge', status: 413, message: error.message, fault: 'Sender' };
  return { code: 'InternalFailure', status: 500, message: 'The request processing has failed because of an unknown error.', fault: 'Receiver' };
}

class BodyTooLargeError extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new BodyTooLargeError(`request body exceeds ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
