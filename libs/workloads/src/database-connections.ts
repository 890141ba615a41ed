/**
 * An app's databases, as its pods see them: one Secret per database in the app's namespace
 * (`HOST`, `PORT`, `DATABASE`, `USERNAME`, `PASSWORD`, `URL`), reaching every container through
 * `envFrom` with the entry's prefix (`DB_HOST` …), and a checksum annotation on each pod template
 * so that a new password (or a moved database) rolls the pods.
 */
import { createHash } from 'node:crypto';
import { annotatePodTemplate, containersOf, podSpecOf } from './pod-templates.js';
import type { KubeManifest } from './workload-types.js';

export interface DatabaseConnection {
  /** The DatabaseInstance's name (the Secret is named after it). */
  database: string;
  envPrefix: string;
  engine: 'postgres' | 'mysql';
  host: string;
  port: number;
  databaseName: string;
  username: string;
  password: string;
  /** Changes whenever the password does (the secret's version): what the checksum follows, instead of the password. */
  passwordVersion: string;
}

/** The annotation on pod templates whose change rolls the pods. */
export const DATABASES_CHECKSUM_ANNOTATION = 'tugboat.dev/databases-checksum';

/** The Secret holding a database's connection: `tugboat-db-<name>`, a DNS subdomain within 253. */
export function databaseSecretName(database: string): string {
  return `tugboat-db-${database}`;
}

/** The connection URL apps and drivers take (`postgresql://user:pass@host:5432/db`). */
export function connectionUrl(connection: Pick<DatabaseConnection, 'engine' | 'username' | 'password' | 'host' | 'port' | 'databaseName'>): string {
  const scheme = connection.engine === 'mysql' ? 'mysql' : 'postgresql';
  return `${scheme}://${encodeURIComponent(connection.username)}:${encodeURIComponent(connection.password)}@${connection.host}:${connection.port}/${encodeURIComponent(connection.databaseName)}`;
}

const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

/** The objects with a Secret per connection added, and every pod template wired to them. New objects: the input is not changed. */
export function withDatabaseConnections(objects: readonly KubeManifest[], connections: readonly DatabaseConnection[], labels: Record<string, string>): KubeManifest[] {
  if (connections.length === 0) return [...objects];
  const sorted = [...connections].sort((a, b) => a.database.localeCompare(b.database));
  // No password in it: the version stands for it.
  const checksum = createHash('sha256')
    .update(JSON.stringify(sorted.map(({ password: _password, ...rest }) => rest)))
    .digest('hex')
    .slice(0, 32);
  const secrets: KubeManifest[] = sorted.map((connection) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: databaseSecretName(connection.database), labels: { ...labels } },
    type: 'Opaque',
    data: {
      HOST: b64(connection.host),
      PORT: b64(String(connection.port)),
      DATABASE: b64(connection.databaseName),
      USERNAME: b64(connection.username),
      PASSWORD: b64(connection.password),
      URL: b64(connectionUrl(connection)),
    },
  }));
  const envFrom = sorted.map((connection) => ({ prefix: `${connection.envPrefix}_`, secretRef: { name: databaseSecretName(connection.database) } }));
  const wired = objects.map((original) => {
    const object = structuredClone(original) as KubeManifest;
    const podSpec = podSpecOf(object);
    if (podSpec === undefined) return object;
    for (const container of [...containersOf(podSpec), ...containersOf(podSpec, 'initContainers')]) {
      const given = Array.isArray(container['envFrom']) ? container['envFrom'] : [];
      container['envFrom'] = [...given, ...envFrom];
    }
    annotatePodTemplate(object, DATABASES_CHECKSUM_ANNOTATION, checksum);
    return object;
  });
  return [...secrets, ...wired];
}
