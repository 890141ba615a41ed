/**
 * A lean HTTP/1.1 JSON client for load generation: a pool of keep-alive connections through undici,
 * so the load generator spends as little of the machine's two cores as it can. The load generator
 * shares those cores with the API, Postgres and NATS, and what it spends is taken from them: undici
 * costs about three quarters of `node:http`'s CPU per request here (the README's "load generator" row), and the
 * API client's `fetch` several times more.
 *
 * A kept connection is closed by undici a second before the API's keep-alive timeout (the API
 * announces it in `Keep-Alive: timeout=…`), so a request does not go out on a connection the API is
 * closing; anything that fails is an error of the call, never retried (a retried create could be a
 * second create).
 */
import { Pool } from 'undici';

export interface HttpJsonClient {
  send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): void;
}

export function createHttpJsonClient(options: { port: number; token: string; maxSockets: number }): HttpJsonClient {
  const pool = new Pool(`http://127.0.0.1:${options.port}`, { connections: options.maxSockets, pipelining: 1 });
  const authorization = `Bearer ${options.token}`;
  const bodyless = { authorization, accept: 'application/json' };
  const withBody = { ...bodyless, 'content-type': 'application/json' };
  return {
    async send(method, path, body) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const answer = await pool.request({ method: method as 'GET', path, headers: payload === undefined ? bodyless : withBody, body: payload });
      const text = await answer.body.text();
      try {
        return { status: answer.statusCode, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
      } catch (error) {
        throw new Error(`${method} ${path}: ${answer.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: error });
      }
    },
    close() {
      void pool.destroy();
    },
  };
}
