import { createServer } from 'node:net';
import { UsageError } from '../usage-error.js';

/** A port nothing listens on right now (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Fails early, with the flag to change, when a requested port is taken. */
export function assertPortFree(port: number, flag: string, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new UsageError(`${flag}: port ${port} is in use (is Tugboat already running?); choose another with ${flag}`, [
              { path: flag, rule: 'port-free' },
            ])
          : error,
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
