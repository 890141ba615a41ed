/**
 * The sandbox's own API for tests and demos, under `/_sandbox`: scale time, inject faults, read
 * counters, restrict credentials, reset. JSON in and out; errors in Tugboat's one error shape.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { InputError, InternalError, NotFoundError, isTugboatError } from '@tugboat/resource-model';
import type { Logger } from 'pino';
import type { StaticCredential } from './aws/credential-store.js';
import { chartMirrors, chartPlainHttpHosts } from './charts/standin-charts.js';
import type { FaultRule } from './fault-injector.js';

export interface ControlApiTarget {
  health(): Record<string, unknown>;
  timeScale(): number;
  setTimeScale(scale: number): void;
  faults(): FaultRule[];
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  counters(): Record<string, unknown>;
  credentials(): Record<string, unknown>;
  restrictCredentials(credentials: StaticCredential[] | undefined): void;
  reset(): Promise<void>;
  endpoints(): object;
  kubeconfig(): string;
  /** The selected ServiceMonitors and scrape targets of a simulated Prometheus; undefined when it does not exist. */
  prometheusTargets(cluster: string, namespace: string, name: string): object | undefined;
}

export function createControlApi(options: { target: ControlApiTarget; logger: Logger }): Router {
  const { target, logger } = options;
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));

  router.get('/healthz', (_req, res) => void res.json({ ok: true, ...target.health() }));
  router.get('/endpoints', (_req, res) => void res.json(target.endpoints()));
  router.get('/kubeconfig', (_req, res) => void res.type('application/yaml').send(target.kubeconfig()));
  router.get('/helm-settings', (req, res) => void res.json(helmSettings(req)));

  router.get('/time', (_req, res) => void res.json({ scale: target.timeScale() }));
  router.post('/time', (req, res) => {
    const body = objectBody(req.body);
    rejectUnknown(body, ['scale'], '');
    const scale = body.scale;
    if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
      throw new InputError('scale: must be a positive number', { details: [{ path: 'scale', rule: 'exclusiveMinimum' }] });
    }
    target.setTimeScale(scale);
    logger.info({ scale }, 'time scale set');
    res.json({ scale: target.timeScale() });
  });

  router.get('/faults', (_req, res) => void res.json({ items: target.faults() }));
  router.post('/faults', (req, res) => {
    const rule = parseFaultRule(req.body);
    target.addFault(rule);
    logger.info({ rule }, 'fault rule added');
    res.status(201).json(rule);
  });
  router.delete('/faults', (_req, res) => {
    target.clearFaults();
    res.json({ items: [] });
  });

  router.get('/counters', (_req, res) => void res.json(target.counters()));

  // What a simulated Prometheus scrapes: its ServiceMonitors and targets, as its /api/v1/targets would list them.
  router.get('/clusters/:cluster/prometheus/:namespace/:name/targets', (req, res) => {
    const { cluster, namespace, name } = req.params as { cluster: string; namespace: string; name: string };
    const targets = target.prometheusTargets(cluster, namespace, name);
    if (targets === undefined) {
      throw new NotFoundError(`no Prometheus ${namespace}/${name} in cluster ${cluster}`, { details: [{ path: 'url', rule: 'exists' }] });
    }
    res.json(targets);
  });

  router.get('/credentials', (_req, res) => void res.json(target.credentials()));
  router.put('/credentials', (req, res) => {
    const body = objectBody(req.body);
    rejectUnknown(body, ['credentials'], '');
    if (body.credentials === null) {
      target.restrictCredentials(undefined);
    } else {
      if (!Array.isArray(body.credentials)) {
        throw new InputError('credentials: must be a list of { accessKeyId, secretAccessKey, userName? } or null', {
          details: [{ path: 'credentials', rule: 'type' }],
        });
      }
      body.credentials.forEach((entry: unknown, i: number) => {
        rejectUnknown(objectBody(entry, `credentials[${i}]`), ['accessKeyId', 'secretAccessKey', 'userName'], `credentials[${i}].`);
      });
      target.restrictCredentials(body.credentials as StaticCredential[]);
    }
    res.json(target.credentials());
  });

  router.post('/reset', async (_req, res) => {
    await target.reset();
    logger.info('sandbox reset');
    res.json({ reset: true });
  });

  router.use((req: Request, _res: Response, next: NextFunction) => {
    next(new InputError(`no control route ${req.method} /_sandbox${req.path}`, { details: [{ path: 'url', rule: 'route' }] }));
  });

  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const typed = (error as { type?: string }).type === 'entity.parse.failed'
      ? new InputError(`body: malformed JSON`, { details: [{ path: 'body', rule: 'json' }] })
      : isTugboatError(error)
        ? error
        : new InternalError('control API failure', { cause: error });
    if (typed.status >= 500) logger.error({ err: error }, 'control API failure');
    res.status(typed.status).json(typed.toBody());
  });
  return router;
}

/**
 * The `@tugboat/helm` settings that send the stand-in charts' real repository URLs to this sandbox,
 * at the address the caller reached it by (its Host header): a process that can ask is one that
 * can fetch the charts from that same address, whatever interface or name the sandbox listens on.
 */
export function helmSettings(req: Request): { TUGBOAT_HELM_MIRRORS: string; TUGBOAT_HELM_PLAIN_HTTP_HOSTS: string } {
  const host = req.get('host');
  if (host === undefined || host === '') {
    throw new InputError('Host: the request names no host to point the chart mirrors at', { details: [{ path: 'host', rule: 'required' }] });
  }
  let url: string;
  try {
    url = new URL(`${req.protocol}://${host}`).origin;
  } catch {
    throw new InputError(`Host: ${JSON.stringify(host)} is not a host[:port]`, { details: [{ path: 'host', rule: 'format' }] });
  }
  return { TUGBOAT_HELM_MIRRORS: chartMirrors(url), TUGBOAT_HELM_PLAIN_HTTP_HOSTS: chartPlainHttpHosts(url) };
}

const FAULT_FIELDS = ['service', 'operation', 'errorRate', 'failNext', 'throttle', 'latencyMs', 'error'];

export function parseFaultRule(value: unknown): FaultRule {
  const body = objectBody(value);
  rejectUnknown(body, FAULT_FIELDS, '');
  const fail = (path: string, rule: string, message: string) => new InputError(`${path}: ${message}`, { details: [{ path, rule }] });
  if (typeof body.service !== 'string' || !/^(\*|[a-z0-9-]+)$/.test(body.service)) {
    throw fail('service', 'pattern', "must be a service signing name such as 'eks', 'sts', 'kube', or '*'");
  }
  const rule: FaultRule = { service: body.service };
  if (body.operation !== undefined) {
    if (typeof body.operation !== 'string' || body.operation === '') throw fail('operation', 'type', 'must be a non-empty string');
    rule.operation = body.operation;
  }
  if (body.errorRate !== undefined) {
    if (typeof body.errorRate !== 'number' || body.errorRate < 0 || body.errorRate > 1) throw fail('errorRate', 'range', 'must be a number from 0 to 1');
    rule.errorRate = body.errorRate;
  }
  if (body.failNext !== undefined) {
    if (!Number.isInteger(body.failNext) || (body.failNext as number) < 1) throw fail('failNext', 'minimum', 'must be an integer >= 1');
    rule.failNext = body.failNext as number;
  }
  if (body.latencyMs !== undefined) {
    if (!Number.isInteger(body.latencyMs) || (body.latencyMs as number) < 0 || (body.latencyMs as number) > 60_000) {
      throw fail('latencyMs', 'range', 'must be an integer from 0 to 60000');
    }
    rule.latencyMs = body.latencyMs as number;
  }
  if (body.throttle !== undefined) {
    if (typeof body.throttle !== 'boolean') throw fail('throttle', 'type', 'must be a boolean');
    rule.throttle = body.throttle;
  }
  if (body.error !== undefined) {
    const error = objectBody(body.error, 'error');
    rejectUnknown(error, ['code', 'status', 'message'], 'error.');
    if (typeof error.code !== 'string' || !/^[A-Za-z][A-Za-z0-9.]*$/.test(error.code)) throw fail('error.code', 'pattern', 'must be an error code such as InternalFailure');
    if (!Number.isInteger(error.status) || (error.status as number) < 400 || (error.status as number) > 599) {
      throw fail('error.status', 'range', 'must be an HTTP status from 400 to 599');
    }
    if (error.message !== undefined && typeof error.message !== 'string') throw fail('error.message', 'type', 'must be a string');
    rule.error = { code: error.code, status: error.status as number, ...(typeof error.message === 'string' ? { message: error.message } : {}) };
  }
  if (rule.throttle && rule.error) throw fail('error', 'exclusive', 'cannot be combined with throttle');
  if (rule.errorRate === undefined && rule.failNext === undefined && rule.latencyMs === undefined) {
    throw fail('errorRate', 'required', 'a rule needs at least one of errorRate, failNext or latencyMs');
  }
  return rule;
}

function objectBody(value: unknown, path = 'body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${path}: must be a JSON object`, { details: [{ path, rule: 'type' }] });
  }
  return value as Record<string, unknown>;
}

function rejectUnknown(body: Record<string, unknown>, allowed: string[], prefix: string): void {
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new InputError(`${prefix}${unknown[0]}: unknown field (allowed: ${allowed.join(', ')})`, {
      details: unknown.map((key) => ({ path: `${prefix}${key}`, rule: 'additionalProperties' })),
    });
  }
}
