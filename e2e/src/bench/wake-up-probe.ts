/**
 * What this machine charges for waking a process, measured beside the write-path figures: a bare
 * `node:http` server in its own process answers small requests on kept-alive sockets, first back
 * to back (the server never sleeps) and then at a fixed rate (it sleeps between requests, as every
 * process on the commit-to-reconcile path does at 100 writes/s). The server measures its own CPU
 * (`process.cpuUsage`, exact, where `/proc`'s figures move in 10 ms ticks).
 *
 * On the virtual machines these benchmarks run on, the paced figure is several times the back-to-
 * back one and swings with the host's load: the same request costs more when the process was
 * asleep. Every hop of commit → reconcile start (API, Postgres, NATS, controller) pays it, so the
 * latency figures of a run are read beside it.
 */
import { spawn } from 'node:child_process';
import { createHttpJsonClient, type HttpJsonClient } from './http-json.js';
import { latencyStats, round, type LatencyStats } from './latency-stats.js';

export interface WakeUpCost {
  /** Server CPU per request when requests come back to back (ms). */
  backToBackCpuMs: number;
  /** Server CPU per request at `rate` requests a second (ms). */
  pacedCpuMs: number;
  rate: number;
  /** Round trips at `rate` (ms). */
  pacedRoundTripMs: LatencyStats;
}

/** Answers every request with a small JSON body; on `cpu` (IPC), sends its CPU use so far in ms. */
const SERVER = `
const { createServer } = require('node:http');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); });
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', () => { const u = process.cpuUsage(); process.send({ cpuMs: (u.user + u.system) / 1000 }); });
process.on('disconnect', () => process.exit(0));
`;

export async function measureWakeUpCost(options: { rate: number; pacedRequests: number; backToBackRequests: number }): Promise<WakeUpCost> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const next = () => new Promise<{ port?: number; cpuMs?: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port?: number; cpuMs?: number }));
    child.once('exit', (code) => reject(new Error(`the wake-up probe's server exited (${code})`)));
  });
  let client: HttpJsonClient | undefined;
  try {
    const { port } = await next();
    // The load generator's own keep-alive client (`http-json.ts`).
    client = createHttpJsonClient({ port: port!, token: 'probe', maxSockets: 16 });
    const send = () => client!.send('GET', '/').then(() => undefined);
    const cpuMs = async () => {
      child.send('cpu');
      return (await next()).cpuMs!;
    };
    const backToBack = async (count: number) => {
      let left = count;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (left-- > 0) await send();
      }));
    };
    // Warm-up: sockets open, the server's code optimised.
    await backToBack(options.backToBackRequests);

    let before = await cpuMs();
    await backToBack(options.backToBackRequests);
    const backToBackCpuMs = ((await cpuMs()) - before) / options.backToBackRequests;

    const roundTrips: number[] = [];
    before = await cpuMs();
    const start = performance.now();
    const inFlight: Array<Promise<void>> = [];
    for (let i = 0; i < options.pacedRequests; i += 1) {
      const wait = start + (i * 1000) / options.rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sentAt = performance.now();
      inFlight.push(send().then(() => void roundTrips.push(performance.now() - sentAt)));
    }
    await Promise.all(inFlight);
    const pacedCpuMs = ((await cpuMs()) - before) / options.pacedRequests;
    return { backToBackCpuMs: round(backToBackCpuMs, 3), pacedCpuMs: round(pacedCpuMs, 3), rate: options.rate, pacedRoundTripMs: latencyStats(roundTrips) };
  } finally {
    client?.close();
    if (child.connected) child.disconnect();
  }
}
