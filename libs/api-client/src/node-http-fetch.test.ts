import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createNodeHttpFetch } from './node-http-fetch.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createNodeHttpFetch', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends method, headers and body, reads status, headers and text, and keeps the connection', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((req, res) => {
      sockets.add(req.socket);
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.setHeader('x-seen', `${req.method} ${req.headers['x-test']} ${body}`);
        res.end(JSON.stringify({ ok: true }));
      });
    });
    servers.push(server);
    const base = await listen(server);
    const fetch = createNodeHttpFetch();
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(new URL(`${base}/x`), { method: 'PUT', headers: { 'x-test': 'yes', 'content-type': 'application/json' }, body: '{"a":1}' });
      expect(response.status).toBe(200);
      expect(response.headers.get('X-Seen')).toBe('PUT yes {"a":1}');
      expect(JSON.parse(await response.text())).toEqual({ ok: true });
    }
    expect(sockets.size).toBe(1);
  });

  it('sends a request once more on a new connection when the kept one was closed by the server', async () => {
    const perSocket = new Map<Socket, number>();
    let answered = 0;
    const server = createServer((req, res) => {
      const count = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, count);
      // The second request on a kept connection meets a server that closed it (its keep-alive timeout).
      if (count === 2) {
        req.socket.destroy();
        return;
      }
      answered += 1;
      res.end('fine');
    });
    servers.push(server);
    const base = await listen(server);
    const fetch = createNodeHttpFetch();
    expect(await (await fetch(new URL(`${base}/a`))).text()).toBe('fine');
    expect(await (await fetch(new URL(`${base}/b`))).text()).toBe('fine');
    expect(answered).toBe(2);
    expect(perSocket.size).toBe(2);
  });

  it('rejects with the signal reason when aborted, and as fetch does ("fetch failed" with the cause) when unreachable', async () => {
    const server = createServer(() => undefined);
    servers.push(server);
    const base = await listen(server);
    const fetch = createNodeHttpFetch();
    const controller = new AbortController();
    const pending = fetch(new URL(`${base}/slow`), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('caller gave up')), 20);
    await expect(pending).rejects.toThrow('caller gave up');

    const closed = createServer();
    const url = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const refused = await fetch(new URL(`${url}/x`)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as TypeError).message).toBe('fetch failed');
    expect(((refused as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});
