import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface NodeHttpFetchOptions {
  /** Sockets kept per API host at most. Default 64. */
  maxSockets?: number;
}

/**
 * A `fetch` for `createApiClient` (its `fetch` option) over `node:http` with one keep-alive agent:
 * what the client uses of a `Response` (status, headers, `text()`, and `body` as an async iterable
 * for watches) without the WHATWG machinery node's global fetch builds per request (a Request,
 * Headers, web streams, chained abort signals), which weighs in a controller's CPU profile when
 * most answers are small JSON documents. A request sent on a kept socket that the server closed
 * meanwhile (its keep-alive timeout) is sent once more on a new one, as node's documentation
 * advises; anything else fails as fetch fails.
 */
export function createNodeHttpFetch(options: NodeHttpFetchOptions = {}): typeof fetch {
  const maxSockets = options.maxSockets ?? 64;
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, maxSockets }),
    'https:': new HttpsAgent({ keepAlive: true, maxSockets }),
  };

  function once(url: URL, init: RequestInit, retryOnStaleSocket: boolean): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
      const request = send(url, { method: init.method ?? 'GET', headers: init.headers as OutgoingHttpHeaders | undefined, agent, ...(signal === undefined ? {} : { signal }) }, (message) => {
        resolve(new NodeHttpResponse(message) as unknown as Response);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (signal?.aborted) reject(signal.reason);
        else if (retryOnStaleSocket && request.reusedSocket && error.code === 'ECONNRESET') once(url, init, false).then(resolve, reject);
        else reject(new TypeError('fetch failed', { cause: error }));
      });
      request.end(init.body as string | undefined);
    });
  }

  return ((input: string | URL | Request, init: RequestInit = {}) => once(typeof input === 'string' ? new URL(input) : (input as URL), init, true)) as typeof fetch;
}

/** The part of a `Response` the API client reads. */
class NodeHttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };

  constructor(private readonly message: IncomingMessage) {
    this.status = message.statusCode ?? 0;
    this.headers = {
      get: (name) => {
        const value = message.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    };
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get body(): AsyncIterable<Uint8Array> {
    return this.message;
  }

  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.message) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
}
