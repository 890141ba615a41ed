import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import express from 'express';
import { createLimitedHttpServer, DEFAULT_HTTP_SERVER_LIMITS } from './http-server-limits.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('the limited HTTP server', () => {
  it('makes requests and answers with the app’s prototypes, so express does not change them', async () => {
    const app = express();
    const seen: Array<{ request: boolean; response: boolean }> = [];
    // Sees each request before express does, which is where their prototypes used to be changed.
    const listener = Object.assign(
      (req: IncomingMessage, res: ServerResponse) => {
        seen.push({ request: Object.getPrototypeOf(req) === app.request, response: Object.getPrototypeOf(res) === app.response });
        app(req, res);
      },
      { request: app.request, response: app.response },
    );
    app.use(express.json());
    app.post('/things/:name', (req, res) => {
      res.status(201).json({ name: req.params['name'], project: req.query['project'], body: req.body as unknown, type: req.get('content-type') });
    });
    const server = createLimitedHttpServer(listener, DEFAULT_HTTP_SERVER_LIMITS);
    const url = await listen(server);
    try {
      for (let i = 0; i < 2; i++) {
        const answer = await fetch(`${url}/things/a?project=p`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
        expect(answer.status).toBe(201);
        expect(await answer.json()).toEqual({ name: 'a', project: 'p', body: { i }, type: 'application/json' });
      }
      expect(seen).toEqual([
        { request: true, response: true },
        { request: true, response: true },
      ]);
    } finally {
      await close(server);
    }
  });

  it('keeps its bounds: requests per connection and the keep-alive timeout', async () => {
    const app = express();
    app.get('/', (_req, res) => {
      res.json({ ok: true });
    });
    const server = createLimitedHttpServer(app, { ...DEFAULT_HTTP_SERVER_LIMITS, maxRequestsPerConnection: 3, keepAliveTimeoutMs: 1234 });
    await listen(server);
    try {
      expect(server.maxRequestsPerSocket).toBe(3);
      expect(server.keepAliveTimeout).toBe(1234);
      expect(server.requestTimeout).toBe(DEFAULT_HTTP_SERVER_LIMITS.requestTimeoutMs);
      expect(server.headersTimeout).toBe(DEFAULT_HTTP_SERVER_LIMITS.headersTimeoutMs);
    } finally {
      await close(server);
    }
  });
});
