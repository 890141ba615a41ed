/**
 * Faults injected through the control API, consulted by every protocol handler before it acts.
 * Each protocol renders the decision in its own wire format: AWS JSON/Query/XML error shapes
 * (`ThrottlingException` / `Throttling`), or a Kubernetes `Status` with 429/500.
 */

/** `service` is `eks`, `sts`, `ec2`, `rds`, `secretsmanager`, `route53`, `kube` …, or `*`. */
export interface FaultRule {
  service: string;
  /** Operation name (`CreateCluster`, `AssumeRole`, for kube `create|get|list|update|patch|delete|watch`); absent = any. */
  operation?: string;
  /** Probability in [0,1] that a matching call fails with `error` (or throttling). */
  errorRate?: number;
  /** Fail exactly the next N matching calls, then the rule is spent. */
  failNext?: number;
  /** Answer with throttling (AWS `ThrottlingException`, Kubernetes 429) instead of a generic error. */
  throttle?: boolean;
  /** Extra latency before every matching call. */
  latencyMs?: number;
  /** Error to return; defaults to a 500 `InternalFailure` (or throttling when `throttle`). */
  error?: { code: string; status: number; message?: string };
}

export interface FaultDecision {
  throttle: boolean;
  code: string;
  status: number;
  message: string;
}

export interface FaultInjector {
  /** Waits for injected latency, then says whether this call must fail, and how. */
  check(service: string, operation: string): Promise<FaultDecision | undefined>;
  add(rule: FaultRule): void;
  list(): FaultRule[];
  clear(): void;
}

export interface FaultInjectorOptions {
  random?: () => number;
}

export function createFaultInjector(options: FaultInjectorOptions = {}): FaultInjector {
  const random = options.random ?? Math.random;
  let rules: FaultRule[] = [];
  const matches = (rule: FaultRule, service: string, operation: string) =>
    (rule.service === '*' || rule.service === service) && (rule.operation === undefined || rule.operation === operation);

  return {
    async check(service, operation) {
      const matching = rules.filter((rule) => matches(rule, service, operation));
      const latency = Math.max(0, ...matching.map((rule) => rule.latencyMs ?? 0));
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
      for (const rule of matching) {
        let fire = false;
        if (rule.failNext !== undefined && rule.failNext > 0) {
          rule.failNext -= 1;
          fire = true;
          if (rule.failNext === 0 && rule.errorRate === undefined && rule.latencyMs === undefined) {
            rules = rules.filter((r) => r !== rule);
          }
        } else if (rule.errorRate !== undefined && random() < rule.errorRate) {
          fire = true;
        }
        if (fire) return decisionOf(rule);
      }
      return undefined;
    },
    add(rule) {
      rules.push({ ...rule });
    },
    list: () => rules.map((rule) => ({ ...rule })),
    clear() {
      rules = [];
    },
  };
}

function decisionOf(rule: FaultRule): FaultDecision {
  if (rule.error) {
    return { throttle: false, code: rule.error.code, status: rule.error.status, message: rule.error.message ?? `injected ${rule.error.code}` };
  }
  if (rule.throttle) return { throttle: true, code: 'ThrottlingException', status: 429, message: 'Rate exceeded' };
  return { throttle: false, code: 'InternalFailure', status: 500, message: 'injected failure' };
}
