/**
 * What an EKS e2e test runs against: the sandbox (AWS and Kubernetes, scaled time, restricted to
 * one access key so a wrong one is refused), the real API, and the infra-, cluster- and workload-
 * controllers as processes. The infra-controller can be started armed with a kill point, or killed
 * at any moment; `awsCounters` reads what the sandbox created and deleted.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApiClient, type ApiClient } from '@tugboat/api-client';
import { chartMirrors, chartPlainHttpHosts } from '@tugboat/sandbox/testing';
import { controllerProcessEnv, freePort, NODE_TS, startApiProcess, startChild, waitForReady, type ApiProcess, type Child } from './cli-processes.js';

const run = promisify(execFile);

export const EKS_KEYS = { accessKeyId: 'AKIAEKSE2ETESTKEY001', secretAccessKey: 'eks-e2e-secret-access-key' };
export const ACCOUNT_ID = '123456789012';

/** Created and deleted counts per AWS resource type (`ec2:vpc`, `iam:role`, `eks:cluster` …). */
export interface AwsCounters {
  created: Record<string, number>;
  deleted: Record<string, number>;
}

/** What one EKS cluster with one node group is made of, per counter type. */
export const ONE_CLUSTER: Record<string, number> = {
  'ec2:vpc': 1,
  'ec2:subnet': 4,
  'ec2:internet-gateway': 1,
  // The VPC's main route table, the public and the private one.
  'ec2:route-table': 3,
  'ec2:elastic-ip': 1,
  'ec2:nat-gateway': 1,
  'iam:role': 2,
  'eks:cluster': 1,
  'eks:nodegroup': 1,
};

/** What changed between two counter readings, per type (types that did not change left out). */
export function countersDelta(before: AwsCounters, after: AwsCounters): AwsCounters {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.keys(b).flatMap((type) => ((b[type] ?? 0) - (a[type] ?? 0) === 0 ? [] : [[type, (b[type] ?? 0) - (a[type] ?? 0)]])));
  return { created: diff(before.created, after.created), deleted: diff(before.deleted, after.deleted) };
}

export interface EksStack {
  api: ApiProcess;
  admin: ApiClient;
  sandboxUrl: string;
  /** The sandbox's kubeconfig: a context per simulated cluster (EKS ones included, under `<name>-<region>`). */
  kubeconfigFile: string;
  kubectl(...args: string[]): Promise<string>;
  /** The `aws` CLI against the sandbox with the stack's keys; parsed JSON. */
  aws(...args: string[]): Promise<Record<string, unknown>>;
  awsCounters(): Promise<AwsCounters>;
  addFault(rule: Record<string, unknown>): Promise<void>;
  faults(): Promise<Array<Record<string, unknown>>>;
  clearFaults(): Promise<void>;
  /** Starts an infra-controller (waits for it to be ready unless `expectDeath`). */
  startInfraController(env?: Record<string, string>, options?: { expectDeath?: boolean }): Promise<Child>;
  /** The running infra-controller, if any. */
  readonly infraController: Child | undefined;
  /** Everything every process of the stack (sandbox, controllers) has written so far. */
  logs(): string;
  /** Starts another controller service (`managed-services-controller` …) with the stack's settings. */
  startController(service: string, env?: Record<string, string>, options?: { expectDeath?: boolean }): Promise<Child>;
  close(): Promise<void>;
}

/** Short periods: the sandbox runs 300× faster than real time. */
const INFRA_ENV = { EKS_POLL_MS: '250', AWS_RETRY_MS: '200', AWS_REQUEST_TIMEOUT_MS: '5000', ACCOUNT_RECHECK_MS: '60000', TUGBOAT_LEASE_TTL_MS: '2000' };

export async function startEksStack(options: { name: string; timeScale?: number; projects?: readonly string[] }): Promise<EksStack> {
  const stateDir = await mkdtemp(join(tmpdir(), `${options.name}-`));
  const sandboxPort = await freePort();
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const children: Child[] = [];
  const sandbox = startChild(
    NODE_TS[0],
    [
      ...NODE_TS.slice(1),
      'services/sandbox/src/main.ts',
      '--port',
      String(sandboxPort),
      '--state-dir',
      stateDir,
      '--time-scale',
      String(options.timeScale ?? 300),
      '--credentials',
      `${EKS_KEYS.accessKeyId}:${EKS_KEYS.secretAccessKey}`,
    ],
    { ...process.env, LOG_LEVEL: 'warn' },
  );
  children.push(sandbox);
  const api = await startApiProcess({ name: options.name, ...(options.projects ? { projects: options.projects } : {}) });
  await waitForReady(`${sandboxUrl}/_sandbox/healthz`, sandbox);
  const admin = createApiClient({ baseUrl: api.url, token: api.adminToken });

  async function controllerEnv(controller: string): Promise<{ port: number; env: Record<string, string | undefined> }> {
    const { port, env } = await controllerProcessEnv(api, admin, controller, children.length);
    // The controllers' own AWS SDK default credentials must not leak in: the account says. Charts
    // come from the sandbox's stand-in repositories, under their real URLs.
    return {
      port,
      env: { ...env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', TUGBOAT_HELM_MIRRORS: chartMirrors(sandboxUrl), TUGBOAT_HELM_PLAIN_HTTP_HOSTS: chartPlainHttpHosts(sandboxUrl), TUGBOAT_HELM_CACHE_DIR: join(stateDir, `helm-${controller}`) },
    };
  }


  async function start(service: string, extra: Record<string, string>, expectDeath = false): Promise<Child> {
    const started = await controllerEnv(service);
    const child = startChild(NODE_TS[0], [...NODE_TS.slice(1), `services/${service}/src/main.ts`], { ...started.env, ...extra });
    children.push(child);
    if (!expectDeath) await waitForReady(`http://127.0.0.1:${started.port}/readyz`, child);
    return child;
  }

  await start('cluster-controller', { CLUSTER_HEALTH_CHECK_MS: '1000', CLUSTER_DEGRADED_RETRY_MS: '500', CLUSTER_WAITING_RETRY_MS: '1000', KUBE_REQUEST_TIMEOUT_MS: '5000' });
  await start('workload-controller', {});
  let infraController: Child | undefined;

  const kubeconfigFile = join(stateDir, 'kubeconfig');
  const control = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${sandboxUrl}/_sandbox${path}`, init);
    if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${await response.text()}`);
    return response;
  };

  return {
    api,
    admin,
    sandboxUrl,
    kubeconfigFile,
    kubectl: async (...args) => (await run('kubectl', ['--kubeconfig', kubeconfigFile, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout,
    async aws(...args) {
      const { stdout } = await run('aws', ['--endpoint-url', sandboxUrl, '--output', 'json', ...args], {
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: process.env['HOME'] ?? '/tmp',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_ACCESS_KEY_ID: EKS_KEYS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: EKS_KEYS.secretAccessKey,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_PAGER: '',
          AWS_MAX_ATTEMPTS: '1',
        },
      });
      return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
    },
    async awsCounters() {
      const all = (await (await control('/counters')).json()) as AwsCounters;
      const aws = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([type]) => /^(ec2|iam|eks|rds|secretsmanager):/.test(type)));
      return { created: aws(all.created), deleted: aws(all.deleted) };
    },
    async addFault(rule) {
      await control('/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule) });
    },
    async faults() {
      return ((await (await control('/faults')).json()) as { items: Array<Record<string, unknown>> }).items;
    },
    async clearFaults() {
      await control('/faults', { method: 'DELETE' });
    },
    async startInfraController(env = {}, startOptions = {}) {
      infraController = await start('infra-controller', { ...INFRA_ENV, ...env }, startOptions.expectDeath ?? false);
      return infraController;
    },
    get infraController() {
      return infraController;
    },
    logs() {
      return children.map((child) => child.output()).join('\n');
    },
    startController(service, env = {}, startOptions = {}) {
      return start(service, { TUGBOAT_LEASE_TTL_MS: '2000', ...env }, startOptions.expectDeath ?? false);
    },
    async close() {
      for (const child of children.reverse()) {
        if (child.process.exitCode === null && child.process.signalCode === null) {
          child.process.kill('SIGTERM');
          await child.exited;
        }
      }
      await api.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
