/** Starts a sandbox on a free port with a silent logger and a fake Kubernetes half, for tests. */
import pino from 'pino';
import { createSandboxServer, type SandboxServer, type SandboxServerOptions } from '../sandbox-server.js';
import { createFakeClusterRegistry, type FakeClusterRegistry } from './fake-cluster-registry.js';

export interface TestSandbox {
  sandbox: SandboxServer;
  kube: FakeClusterRegistry;
  url: string;
}

export async function startTestSandbox(options: Partial<SandboxServerOptions> = {}): Promise<TestSandbox> {
  const kube = createFakeClusterRegistry();
  const sandbox = createSandboxServer({
    port: 0,
    logger: pino({ level: 'silent' }),
    createClusterRegistry: (dependencies) => {
      kube.verifyToken = dependencies.verifyToken;
      return kube;
    },
    ...options,
  });
  const { url } = await sandbox.start();
  return { sandbox, kube, url };
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const TEST_AWS_CREDENTIALS = { accessKeyId: 'AKIATESTSANDBOX00001', secretAccessKey: 'test-secret-key' };
