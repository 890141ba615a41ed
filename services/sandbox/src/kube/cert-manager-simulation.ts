/**
 * What cert-manager does once its chart is installed, for ACME issuers solving DNS-01 with
 * Route 53: registers the issuers' ACME accounts (an account key Secret, `Ready`), and for each
 * Certificate writes `_acme-challenge` TXT records through a `Dns01Solver` (the sandbox's own
 * Route 53, with the issuer's credentials), waits for them to propagate, removes them, and writes
 * the TLS Secret signed by a sandbox CA. Nothing happens until the cert-manager CRDs exist and the
 * `cert-manager` Deployment is Available. Orders, Challenges and CertificateRequests are not
 * created: the Certificate's conditions and Events carry what they would say.
 */
import { X509Certificate, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { isPlainObject, type JsonObject } from './json-values.js';
import type { StoredEvent } from './kube-cluster.js';
import type { KubeObject } from './object-rules.js';
import { storageKeyOf, type ResourceType } from './resource-table.js';
import {
  DEPLOYMENT,
  SECRET,
  at,
  availableDeployment,
  mergeConditions,
  objectsAt,
  timestamp,
  type AddOnSimulation,
  type Condition,
  type SimulationRuntime,
} from './simulation-runtime.js';
import { Dns01Error, type AwsCredentials, type Dns01Challenge, type Dns01Solver } from './dns01-solver.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from './tls-credentials.js';

export const CERT_MANAGER_DEPLOYMENT = 'cert-manager';
const GROUP = 'cert-manager.io';
const MANAGER = 'cert-manager-certificates-issuing';
const COMPONENT = 'cert-manager-certificates-issuing';
const DAY_MS = 24 * 60 * 60 * 1000;
/** Let's Encrypt's validity; cert-manager renews at two thirds of it. */
const VALIDITY_MS = 90 * DAY_MS;
const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Retries after a failed issuance, in sandbox time: 10 s, doubling, at most 5 min. */
const FIRST_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 5 * 60_000;

export interface CertManagerSimulationOptions {
  solver: Dns01Solver;
  /** Credentials a ClusterIssuer's route53 solver uses when it names no access key (cert-manager's ambient credentials). */
  ambientCredentials?: AwsCredentials | undefined;
}

interface Failure {
  generation: number;
  count: number;
  at: number;
}

type IssuerKind = 'Issuer' | 'ClusterIssuer';

export function backoffMs(failures: number): number {
  return Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
}

function decode(secret: KubeObject | undefined, key: string): string | undefined {
  const data = isPlainObject(secret?.data) ? secret.data : {};
  const stringData = isPlainObject(secret?.stringData) ? secret.stringData : {};
  if (typeof data[key] === 'string') return Buffer.from(data[key], 'base64').toString('utf8');
  return typeof stringData[key] === 'string' ? stringData[key] : undefined;
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

export function createCertManagerSimulation(runtime: SimulationRuntime, options: CertManagerSimulationOptions): AddOnSimulation {
  const { cluster, clock, enqueue, later, recordEvent } = runtime;
  const type = (plural: string): ResourceType | undefined => cluster.registry.forStorageKey(`${GROUP}/${plural}`);
  const issuerType = (kind: IssuerKind) => type(kind === 'ClusterIssuer' ? 'clusterissuers' : 'issuers');
  const failures = new Map<string, Failure>();
  /** The attempt running per Certificate uid; a result is applied only while it is still the current one. */
  const attempts = new Map<string, { generation: number }>();
  let authority: CertificateAuthority | undefined;
  let sleeps = 0;

  const controller = () => availableDeployment(cluster, CERT_MANAGER_DEPLOYMENT);

  function condition(object: KubeObject, conditionType: string, status: Condition['status'], reason: string, message: string): Condition {
    return { type: conditionType, status, reason, message, observedGeneration: object.metadata.generation ?? 1 };
  }

  function writeConditions(resourceType: ResourceType, object: KubeObject, conditions: Condition[], extra: JsonObject = {}): void {
    const previous = isPlainObject(object.status) ? object.status : {};
    runtime.writeStatus(resourceType, object, { ...previous, ...extra, conditions: mergeConditions(previous.conditions, conditions, runtime.now(), false) }, MANAGER);
  }

  function conditionOf(object: KubeObject | undefined, conditionType: string): JsonObject | undefined {
    return objectsAt(object, 'status.conditions').find((candidate) => candidate.type === conditionType);
  }

  /** Records an Event only when a condition changes, so a level-triggered loop does not repeat it. */
  function eventOnChange(object: KubeObject, conditionType: string, next: Condition, type: 'Normal' | 'Warning', reason: string): void {
    const before = conditionOf(object, conditionType);
    if (before?.status !== next.status || before.reason !== next.reason || before.message !== next.message) recordEvent(object, type, reason, next.message, 'cert-manager');
  }

  // ---- Issuers -----------------------------------------------------------------------------

  function resourceNamespaceOf(kind: IssuerKind, issuer: KubeObject, deployment: KubeObject): string {
    return kind === 'ClusterIssuer' ? (deployment.metadata.namespace as string) : (issuer.metadata.namespace as string);
  }

  function reconcileIssuer(kind: IssuerKind, namespace: string | undefined, name: string): void {
    const issuers = issuerType(kind);
    const issuer = issuers && cluster.get(issuers, namespace, name);
    const deployment = controller();
    if (!issuers || !issuer || issuer.metadata.deletionTimestamp || !deployment) return;
    const acme = at(issuer, 'spec.acme');
    if (!isPlainObject(acme)) return; // only ACME issuers are simulated
    const server = String(acme.server ?? '');
    let url: URL | undefined;
    try {
      url = new URL(server);
    } catch {
      url = undefined;
    }
    const fail = (message: string) => {
      const next = condition(issuer, 'Ready', 'False', 'ErrRegisterACMEAccount', message);
      eventOnChange(issuer, 'Ready', next, 'Warning', 'ErrRegisterACMEAccount');
      writeConditions(issuers, issuer, [next]);
    };
    if (url === undefined) return fail(`Failed to register ACME account: parse "${server}": invalid URI for request`);
    if (url.protocol !== 'https:') return fail(`Failed to register ACME account: Get "${server}": unsupported protocol scheme "${url.protocol.replace(/:$/, '')}" (the ACME server must be an https URL)`);
    const keyName = at(acme, 'privateKeySecretRef.name');
    if (typeof keyName !== 'string' || keyName === '') return fail('Failed to register ACME account: spec.acme.privateKeySecretRef.name must be set');
    const keyNamespace = resourceNamespaceOf(kind, issuer, deployment);
    let keySecret = cluster.get(SECRET, keyNamespace, keyName);
    if (!keySecret) {
      const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      keySecret = cluster.create(SECRET, keyNamespace, { metadata: { name: keyName }, type: 'Opaque', data: { 'tls.key': base64(pem) } }, { manager: 'cert-manager-clusterissuers' });
    }
    const accountNumber = BigInt(`0x${createHash('sha256').update(issuer.metadata.uid).digest('hex').slice(0, 12)}`).toString();
    const ready = condition(issuer, 'Ready', 'True', 'ACMEAccountRegistered', 'The ACME account was registered with the ACME server');
    eventOnChange(issuer, 'Ready', ready, 'Normal', 'ACMEAccountRegistered');
    writeConditions(issuers, issuer, [ready], {
      acme: {
        uri: `${url.origin}/acme/acct/${accountNumber}`,
        ...(typeof acme.email === 'string' ? { lastRegisteredEmail: acme.email } : {}),
        lastPrivateKeyHash: createHash('sha256').update(decode(keySecret, 'tls.key') ?? '').digest('base64'),
      },
    });
  }

  // ---- Certificates ------------------------------------------------------------------------

  interface Spec {
    secretName: string;
    dnsNames: string[];
    issuerName: string;
    issuerKind: IssuerKind;
  }

  function specOf(certificate: KubeObject): Spec | undefined {
    const secretName = at(certificate, 'spec.secretName');
    const issuerName = at(certificate, 'spec.issuerRef.name');
    const group = at(certificate, 'spec.issuerRef.group') ?? GROUP;
    const kind = at(certificate, 'spec.issuerRef.kind') ?? 'Issuer';
    if (typeof secretName !== 'string' || typeof issuerName !== 'string' || group !== GROUP || (kind !== 'Issuer' && kind !== 'ClusterIssuer')) return undefined;
    const names = at(certificate, 'spec.dnsNames');
    const commonName = at(certificate, 'spec.commonName');
    const dnsNames = [...new Set([...(Array.isArray(names) ? names.filter((name): name is string => typeof name === 'string') : []), ...(typeof commonName === 'string' ? [commonName] : [])])];
    return { secretName, dnsNames, issuerName, issuerKind: kind };
  }

  /** Why the Secret does not hold what the spec asks for, in cert-manager's words; undefined when it does. */
  function secretProblem(spec: Spec, secret: KubeObject | undefined): { reason: string; message: string } | undefined {
    if (!secret) return { reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist' };
    if (decode(secret, 'tls.crt') === undefined || decode(secret, 'tls.key') === undefined) return { reason: 'MissingData', message: 'Issuing certificate as Secret does not contain a certificate' };
    const annotations = secret.metadata.annotations ?? {};
    const kind = annotations['cert-manager.io/issuer-kind'] ?? 'Issuer';
    if (annotations['cert-manager.io/issuer-name'] !== spec.issuerName || kind !== spec.issuerKind) {
      return { reason: 'IncorrectIssuer', message: `Issuing certificate as Secret was previously issued by "${kind}.cert-manager.io/${String(annotations['cert-manager.io/issuer-name'])}"` };
    }
    if ((annotations['cert-manager.io/alt-names'] ?? '') !== spec.dnsNames.join(',')) return { reason: 'SecretMismatch', message: 'Issuing certificate as Secret was previously issued for different DNS names: [spec.dnsNames]' };
    return undefined;
  }

  function issuerProblem(spec: Spec, namespace: string): string | undefined {
    const issuers = issuerType(spec.issuerKind);
    const issuer = issuers && cluster.get(issuers, spec.issuerKind === 'Issuer' ? namespace : undefined, spec.issuerName);
    if (!issuer) return `Referenced "${spec.issuerKind}" not found: ${spec.issuerKind.toLowerCase()}.cert-manager.io "${spec.issuerName}" not found`;
    if (conditionOf(issuer, 'Ready')?.status !== 'True') return 'Referenced issuer does not have a Ready status condition';
    return undefined;
  }

  function reconcileCertificate(namespace: string, name: string): void {
    const certificates = type('certificates');
    const certificate = certificates && cluster.get(certificates, namespace, name);
    if (!certificates || !certificate || certificate.metadata.deletionTimestamp || !controller()) return;
    const spec = specOf(certificate);
    if (!spec) return;
    const uid = certificate.metadata.uid;
    const generation = certificate.metadata.generation ?? 1;
    const secret = cluster.get(SECRET, namespace, spec.secretName);
    const problem = secretProblem(spec, secret);
    if (!problem) {
      failures.delete(uid);
      runtime.cancelTimer(`certificate-retry:${uid}`);
      writeConditions(certificates, certificate, [condition(certificate, 'Ready', 'True', 'Ready', 'Certificate is up to date and has not expired')], validityOf(certificate, secret as KubeObject));
      return;
    }
    if (attempts.has(uid)) return;
    const notReady = condition(certificate, 'Ready', 'False', problem.reason, problem.message);
    const blocked = issuerProblem(spec, namespace);
    if (blocked !== undefined) {
      const issuing = condition(certificate, 'Issuing', 'True', 'IssuerNotReady', blocked);
      eventOnChange(certificate, 'Issuing', issuing, 'Warning', 'IssuerNotReady');
      writeConditions(certificates, certificate, [notReady, issuing]);
      return;
    }
    const failure = failures.get(uid);
    if (failure && failure.generation === generation && !clock.elapsed(failure.at, backoffMs(failure.count))) {
      const remaining = failure.at + backoffMs(failure.count) - clock.now();
      later(`certificate-retry:${uid}`, Math.max(remaining, 1), () => reconcileCertificate(namespace, name));
      return;
    }
    const issuing = condition(certificate, 'Issuing', 'True', problem.reason, problem.message);
    eventOnChange(certificate, 'Issuing', issuing, 'Normal', 'Issuing');
    writeConditions(certificates, certificate, [notReady, issuing]);
    const attempt = { generation };
    attempts.set(uid, attempt);
    void issue(certificate, spec)
      .then(
        () => {
          if (attempts.get(uid) === attempt) finishIssuance(namespace, name, uid, generation, spec);
        },
        (error: unknown) => {
          if (attempts.get(uid) === attempt) recordFailure(namespace, name, uid, generation, error);
        },
      )
      .finally(() => {
        if (attempts.get(uid) === attempt) attempts.delete(uid);
        enqueueCertificate(namespace, name);
      });
  }

  function validityOf(certificate: KubeObject, secret: KubeObject): JsonObject {
    const status = isPlainObject(certificate.status) ? certificate.status : {};
    if (typeof status.notAfter === 'string' && typeof status.revision === 'number') return {};
    const pem = decode(secret, 'tls.crt') ?? '';
    try {
      const parsed = new X509Certificate(pem);
      const notAfter = Date.parse(parsed.validTo);
      return { notBefore: timestamp(Date.parse(parsed.validFrom)), notAfter: timestamp(notAfter), renewalTime: timestamp(notAfter - RENEW_BEFORE_MS), revision: typeof status.revision === 'number' ? status.revision : 1 };
    } catch {
      return {};
    }
  }

  /** The challenges of one issuance: one per distinct `_acme-challenge` name, with the solver and credentials the issuer gives it. */
  function challengesFor(certificate: KubeObject, spec: Spec): Dns01Challenge[] {
    const deployment = controller();
    const issuers = issuerType(spec.issuerKind);
    const issuer = issuers && cluster.get(issuers, spec.issuerKind === 'Issuer' ? certificate.metadata.namespace : undefined, spec.issuerName);
    if (!deployment || !issuer) throw new Dns01Error('the issuer is gone');
    const resourceNamespace = resourceNamespaceOf(spec.issuerKind, issuer, deployment);
    const solvers = objectsAt(issuer, 'spec.acme.solvers');
    const byFqdn = new Map<string, Dns01Challenge>();
    for (const dnsName of spec.dnsNames) {
      const domain = dnsName.replace(/^\*\./, '');
      const fqdn = `_acme-challenge.${domain}.`;
      if (byFqdn.has(fqdn)) continue;
      const solver = pickSolver(solvers, domain);
      if (!solver) throw new Dns01Error(`Failed to determine a valid solver configuration for the set of domains on the Order: no configured challenge solvers can be used for this challenge (${dnsName})`);
      const route53 = at(solver, 'dns01.route53');
      if (!isPlainObject(route53)) throw new Dns01Error(`the sandbox only solves DNS-01 challenges with the route53 provider; the solver for ${dnsName} has none`);
      byFqdn.set(fqdn, {
        domain,
        fqdn,
        value: randomBytes(32).toString('base64url'),
        route53: { ...(typeof route53.region === 'string' ? { region: route53.region } : {}), ...(typeof route53.hostedZoneID === 'string' ? { hostedZoneID: route53.hostedZoneID } : {}) },
        credentials: credentialsOf(route53, resourceNamespace, spec.issuerKind),
      });
    }
    return [...byFqdn.values()];
  }

  /** cert-manager's choice: a solver whose selector names the domain, else the longest matching dnsZone, else one without a selector. */
  function pickSolver(solvers: JsonObject[], domain: string): JsonObject | undefined {
    let best: { solver: JsonObject; score: number } | undefined;
    for (const solver of solvers) {
      const names = at(solver, 'selector.dnsNames');
      const zones = at(solver, 'selector.dnsZones');
      let score = -1;
      if (Array.isArray(names) && names.length > 0) score = names.includes(domain) ? 10_000 : -1;
      else if (Array.isArray(zones) && zones.length > 0) {
        for (const zone of zones) if (typeof zone === 'string' && (domain === zone || domain.endsWith(`.${zone}`))) score = Math.max(score, zone.length);
      } else score = 0;
      if (score >= 0 && (best === undefined || score > best.score)) best = { solver, score };
    }
    return best?.solver;
  }

  function secretValue(namespace: string, reference: unknown, what: string): string {
    const name = String(at(reference, 'name') ?? '');
    const key = String(at(reference, 'key') ?? '');
    const secret = cluster.get(SECRET, namespace, name);
    if (!secret) throw new Dns01Error(`error getting route53 ${what}: secret "${name}" not found`);
    const value = decode(secret, key);
    if (value === undefined) throw new Dns01Error(`error getting route53 ${what}: key "${key}" not found in secret`);
    return value.trim();
  }

  function credentialsOf(route53: JsonObject, namespace: string, kind: IssuerKind): AwsCredentials {
    const accessKeyId = typeof route53.accessKeyID === 'string' ? route53.accessKeyID : isPlainObject(route53.accessKeyIDSecretRef) ? secretValue(namespace, route53.accessKeyIDSecretRef, 'access key id') : undefined;
    if (accessKeyId !== undefined || isPlainObject(route53.secretAccessKeySecretRef)) {
      const secretAccessKey = isPlainObject(route53.secretAccessKeySecretRef) ? secretValue(namespace, route53.secretAccessKeySecretRef, 'secret access key') : '';
      if (accessKeyId === undefined || secretAccessKey === '') throw new Dns01Error('error instantiating route53 challenge solver: unable to construct route53 provider: empty credentials; access key id or secret access key not set');
      return { accessKeyId, secretAccessKey };
    }
    if (kind === 'ClusterIssuer' && options.ambientCredentials) return options.ambientCredentials;
    throw new Dns01Error('error instantiating route53 challenge solver: unable to construct route53 provider: role-based (ambient) credentials are not available in the sandbox; set accessKeyID and secretAccessKeySecretRef');
  }

  function sleep(simulatedMs: number): Promise<void> {
    sleeps += 1;
    return new Promise((resolve) => later(`dns01-wait:${sleeps}`, simulatedMs, resolve));
  }

  /** The ACME exchange: present every challenge (propagated), the server "validates", then clean up. */
  async function issue(certificate: KubeObject, spec: Spec): Promise<void> {
    const challenges = challengesFor(certificate, spec);
    const presented: Dns01Challenge[] = [];
    try {
      for (const challenge of challenges) {
        await options.solver.present(challenge, { sleep });
        presented.push(challenge);
        recordEvent(certificate, 'Normal', 'Presented', `Presented challenge using DNS-01 challenge mechanism for ${challenge.domain}`, 'cert-manager-challenges');
      }
    } finally {
      for (const challenge of presented) await options.solver.cleanUp(challenge, { sleep }).catch(() => undefined);
    }
  }

  function finishIssuance(namespace: string, name: string, uid: string, generation: number, spec: Spec): void {
    const certificates = type('certificates');
    const certificate = certificates && cluster.get(certificates, namespace, name);
    if (!certificates || !certificate || certificate.metadata.uid !== uid || (certificate.metadata.generation ?? 1) !== generation) return;
    authority ??= createCertificateAuthority('Tugboat Sandbox ACME CA');
    const issuedAt = clock.now();
    const notBefore = new Date(Math.floor(issuedAt / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + VALIDITY_MS);
    const { cert, key } = issueCertificate(authority, spec.dnsNames, { notBefore, notAfter });
    const template = at(certificate, 'spec.secretTemplate');
    const annotations = {
      ...(isPlainObject(template) && isPlainObject(template.annotations) ? (template.annotations as Record<string, string>) : {}),
      'cert-manager.io/alt-names': spec.dnsNames.join(','),
      'cert-manager.io/certificate-name': name,
      'cert-manager.io/common-name': spec.dnsNames[0] ?? '',
      'cert-manager.io/ip-sans': '',
      'cert-manager.io/issuer-group': GROUP,
      'cert-manager.io/issuer-kind': spec.issuerKind,
      'cert-manager.io/issuer-name': spec.issuerName,
      'cert-manager.io/uri-sans': '',
    };
    const labels = { ...(isPlainObject(template) && isPlainObject(template.labels) ? (template.labels as Record<string, string>) : {}), 'controller.cert-manager.io/fao': 'true' };
    const data = { 'tls.crt': base64(cert), 'tls.key': base64(key), 'ca.crt': base64(authority.cert) };
    const existing = cluster.get(SECRET, namespace, spec.secretName);
    if (existing) {
      cluster.update(
        SECRET,
        namespace,
        spec.secretName,
        { ...existing, metadata: { ...existing.metadata, annotations: { ...existing.metadata.annotations, ...annotations }, labels: { ...existing.metadata.labels, ...labels } }, type: 'kubernetes.io/tls', data },
        { manager: MANAGER },
      );
    } else {
      cluster.create(SECRET, namespace, { metadata: { name: spec.secretName, annotations, labels }, type: 'kubernetes.io/tls', data }, { manager: MANAGER });
    }
    const fresh = cluster.get(certificates, namespace, name) as KubeObject;
    const previous = isPlainObject(fresh.status) ? fresh.status : {};
    const revision = (typeof previous.revision === 'number' ? previous.revision : 0) + 1;
    const { lastFailureTime: _time, failedIssuanceAttempts: _attempts, ...kept } = previous;
    runtime.writeStatus(
      certificates,
      fresh,
      {
        ...kept,
        conditions: mergeConditions(previous.conditions, [condition(fresh, 'Ready', 'True', 'Ready', 'Certificate is up to date and has not expired')], runtime.now(), false),
        notBefore: timestamp(notBefore.getTime()),
        notAfter: timestamp(notAfter.getTime()),
        renewalTime: timestamp(notAfter.getTime() - RENEW_BEFORE_MS),
        revision,
      },
      MANAGER,
    );
    failures.delete(uid);
    recordEvent(fresh, 'Normal', 'Issuing', 'The certificate has been successfully issued', COMPONENT);
  }

  function recordFailure(namespace: string, name: string, uid: string, generation: number, error: unknown): void {
    const certificates = type('certificates');
    const certificate = certificates && cluster.get(certificates, namespace, name);
    if (!certificates || !certificate || certificate.metadata.uid !== uid) return;
    const previous = failures.get(uid);
    const failure = { generation, count: previous && previous.generation === generation ? previous.count + 1 : 1, at: clock.now() };
    failures.set(uid, failure);
    const reason = error instanceof Dns01Error ? error.message : `unexpected error: ${(error as Error).message ?? String(error)}`;
    const message = `The certificate request has failed to complete and will be retried: ${reason}`;
    const spec = specOf(certificate);
    const problem = spec ? secretProblem(spec, cluster.get(SECRET, namespace, spec.secretName)) : undefined;
    const conditions = [
      ...(problem ? [condition(certificate, 'Ready', 'False', problem.reason, problem.message)] : []),
      condition(certificate, 'Issuing', 'False', 'Failed', message),
    ];
    writeConditions(certificates, certificate, conditions, { lastFailureTime: timestamp(failure.at), failedIssuanceAttempts: failure.count });
    recordEvent(certificate, 'Warning', 'Failed', message, COMPONENT);
    later(`certificate-retry:${uid}`, backoffMs(failure.count), () => reconcileCertificate(namespace, name));
  }

  // ---- Routing of change events ------------------------------------------------------------

  function enqueueCertificate(namespace: string, name: string): void {
    enqueue(`cert-manager|certificate|${namespace}/${name}`, () => reconcileCertificate(namespace, name));
  }
  function enqueueIssuer(kind: IssuerKind, namespace: string | undefined, name: string): void {
    enqueue(`cert-manager|${kind}|${namespace ?? ''}/${name}`, () => reconcileIssuer(kind, namespace, name));
  }
  function enqueueAllCertificates(): void {
    const certificates = type('certificates');
    if (certificates) for (const certificate of cluster.scan(certificates)) enqueueCertificate(certificate.metadata.namespace ?? '', certificate.metadata.name);
  }
  function enqueueAllIssuers(): void {
    for (const kind of ['Issuer', 'ClusterIssuer'] as const) {
      const issuers = issuerType(kind);
      if (issuers) for (const issuer of cluster.scan(issuers)) enqueueIssuer(kind, issuer.metadata.namespace, issuer.metadata.name);
    }
  }

  function enqueueAll(): void {
    enqueueAllIssuers();
    enqueueAllCertificates();
  }

  function resyncAll(): void {
    // The runtime's timers were dropped: attempts waiting on them never finish, so they are forgotten and started again.
    attempts.clear();
    enqueueAll();
  }

  function onEvent(event: StoredEvent): void {
    const { object, storageKey } = event;
    switch (storageKey) {
      case `${GROUP}/certificates`:
        if (event.type === 'DELETED') {
          failures.delete(object.metadata.uid);
          runtime.cancelTimer(`certificate-retry:${object.metadata.uid}`);
        } else enqueueCertificate(object.metadata.namespace ?? '', object.metadata.name);
        return;
      case `${GROUP}/issuers`:
      case `${GROUP}/clusterissuers`:
        enqueueIssuer(object.kind as IssuerKind, object.metadata.namespace, object.metadata.name);
        enqueueAllCertificates();
        return;
      case storageKeyOf(SECRET):
        // The issued Secret (deleted or edited by hand), an account key, or solver credentials.
        enqueueAllIssuers();
        enqueueAllCertificates();
        return;
      case storageKeyOf(DEPLOYMENT):
        if (object.metadata.name === CERT_MANAGER_DEPLOYMENT) enqueueAll();
        return;
      case 'apiextensions.k8s.io/customresourcedefinitions':
        if (String(at(object, 'spec.group')).endsWith(GROUP)) enqueueAll();
        return;
      default:
    }
  }

  return { onEvent, resyncAll };
}
