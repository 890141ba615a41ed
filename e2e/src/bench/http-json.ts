/**
 * A lean HTTP/1.1 JSON client for load generation: keep-alive sockets through `node:http`, no
 * per-request URL parsing or stream plumbing, so the load generator spends as little of the
 * machine's two cores as it can (the API client's `fetch` costs several times more per request).
 */
import { Agent, request } from 'node:http';

export interface HttpJsonClient {
  send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): void;
}

export function createHttpJsonClient(options: { port: number; token: string; maxSockets: number }): HttpJsonClient {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const authorization = `Bearer ${options.token}`;
  return {
    send(method, path, body) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      // A kept socket the API closed as idle (its keep-alive timeout) just as a request went out on it
      // resets before the request was read: that one is sent once more on a new socket, as node's
      // documentation advises. Anything else fails the call.
      const attempt = (retryStale: boolean): Promise<{ status: number; body: unknown }> => new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: options.port,
            method,
            path,
            agent,
            headers: {
              authorization,
              accept: 'application/json',
              ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              try {
                resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) });
              } catch (error) {
                reject(new Error(`${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: error }));
              }
            });
            res.on('error', reject);
          },
        );
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (retryStale && req.reusedSocket && error.code === 'ECONNRESET') attempt(false).then(resolve, reject);
          else reject(error);
        });
        req.end(payload);
      });
      return attempt(true);
    },
    close() {
      agent.destroy();
    },
  };
}
