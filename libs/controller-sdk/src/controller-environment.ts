/**
 * The environment every controller service reads, so `tug up`, the Deployments in `deploy/` and a
 * team's own controller agree on one set of names:
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `TUGBOAT_URL` | the API (the same variable `tug` reads) | required |
 * | `TUGBOAT_TOKEN` | the controller identity's token | required |
 * | `NATS_URL` | JetStream, comma-separated for several servers | `nats://127.0.0.1:4222` |
 * | `TUGBOAT_NATS_PREFIX` | prefix of every subject, stream and bucket | `tugboat` |
 * | `PORT` | `/healthz`, `/readyz`, `/metrics` | none served |
 * | `TUGBOAT_REPLICA_ID` | this replica's name in leases and logs | the host name |
 * | `LOG_LEVEL` | pino level | `info` |
 * | `TUGBOAT_LEASE_TTL_MS` | how long an object's lease lives unrenewed: how soon a dead replica's objects are taken over | `10000` |
 */
import { DEFAULT_PREFIX, InputError, type ErrorDetail } from '@tugboat/resource-model';
import type { RunControllerOptions } from './run-controller.js';

export type ControllerEnvironment = Pick<RunControllerOptions, 'apiUrl' | 'token' | 'natsUrl' | 'prefix' | 'logLevel'> &
  Partial<Pick<RunControllerOptions, 'healthPort' | 'replicaId' | 'leaseTtlMs'>>;

export function controllerEnvironment(env: Record<string, string | undefined> = process.env): ControllerEnvironment {
  const problems: ErrorDetail[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push({ path: name, rule: 'required', message: `${name} must be set` });
    return value ?? '';
  };
  const apiUrl = required('TUGBOAT_URL');
  const token = required('TUGBOAT_TOKEN');
  let healthPort: number | undefined;
  if (env['PORT'] !== undefined && env['PORT'] !== '') {
    healthPort = Number(env['PORT']);
    if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65_535) {
      problems.push({ path: 'PORT', rule: 'port', message: `PORT must be a port number, got ${JSON.stringify(env['PORT'])}` });
    }
  }
  let leaseTtlMs: number | undefined;
  if (env['TUGBOAT_LEASE_TTL_MS'] !== undefined && env['TUGBOAT_LEASE_TTL_MS'] !== '') {
    leaseTtlMs = Number(env['TUGBOAT_LEASE_TTL_MS']);
    if (!Number.isInteger(leaseTtlMs) || leaseTtlMs < 1_000) {
      problems.push({ path: 'TUGBOAT_LEASE_TTL_MS', rule: 'minimum', message: `TUGBOAT_LEASE_TTL_MS must be a whole number of milliseconds >= 1000, got ${JSON.stringify(env['TUGBOAT_LEASE_TTL_MS'])}` });
    }
  }
  if (problems.length > 0) {
    throw new InputError(`controller configuration: ${problems.map((p) => p.message).join('; ')}`, { details: problems });
  }
  return {
    apiUrl,
    token,
    natsUrl: (env['NATS_URL'] || 'nats://127.0.0.1:4222').split(',').map((server) => server.trim()),
    prefix: env['TUGBOAT_NATS_PREFIX'] || DEFAULT_PREFIX,
    logLevel: env['LOG_LEVEL'] || 'info',
    ...(healthPort === undefined ? {} : { healthPort }),
    ...(env['TUGBOAT_REPLICA_ID'] ? { replicaId: env['TUGBOAT_REPLICA_ID'] } : {}),
    ...(leaseTtlMs === undefined ? {} : { leaseTtlMs }),
  };
}

/**
 * A controller's own millisecond setting from its environment: `fallback` when unset or empty; a
 * 422-style `InputError` naming the variable when it is not a whole number >= 100.
 */
export function millisecondsSetting(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 100) {
    throw new InputError(`${name} must be a whole number of milliseconds >= 100, got ${JSON.stringify(raw)}`, { details: [{ path: name, rule: 'minimum' }] });
  }
  return value;
}
