/**
 * Test support: a real HTTP server on port 0 serving a fresh simulator under `/k8s`, with its
 * kubeconfig written to a temporary file for kubectl and loaded for @kubernetes/client-node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandboxCounters, type SandboxCounters } from '../counters.js';
import { createFaultInjector, type FaultInjector } from '../fault-injector.js';
import { createSimClock, type SimClock } from '../sim-clock.js';
import { createKubeSimulator, type KubeSimulator, type KubeSimulatorOptions } from './kube-simulator.js';

export interface KubeTestServer {
  simulator: KubeSimulator;
  clock: SimClock;
  faults: FaultInjector;
  counters: SandboxCounters;
  baseUrl: string;
  /** A directory removed by `close()`, holding `kubeconfig` and kubectl's cache. */
  dir: string;
  /** Writes the kubeconfig for the given clusters (all by default) and returns its path. */
  writeKubeconfig(names?: string[]): string;
  close(): Promise<void>;
}

export async function startKubeTestServer(options: Partial<Omit<KubeSimulatorOptions, 'clock' | 'faults' | 'counters'>> & { scale?: number } = {}): Promise<KubeTestServer> {
  const clock = createSimClock({ scale: options.scale ?? 50 });
  const faults = createFaultInjector();
  const counters = createSandboxCounters();
  const simulator = createKubeSimulator({ ...options, clock, faults, counters });
  const route = (req: Parameters<KubeSimulator['handler']>[0], res: Parameters<KubeSimulator['handler']>[1]) => {
    if (req.url?.startsWith('/k8s/')) simulator.handler(req, res);
    else {
      res.statusCode = 404;
      res.end();
    }
  };
  const tls = simulator.tlsCredentials();
  const server: Server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, route) : createServer(route);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'tugboat-kube-'));
  return {
    simulator,
    clock,
    faults,
    counters,
    baseUrl,
    dir,
    writeKubeconfig(names) {
      const path = join(dir, 'kubeconfig');
      writeFileSync(path, simulator.kubeconfig(baseUrl, names));
      return path;
    },
    async close() {
      simulator.reset();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
