import { connectionUrl, DATABASES_CHECKSUM_ANNOTATION, withDatabaseConnections, type DatabaseConnection } from './database-connections.js';
import type { KubeManifest } from './workload-types.js';

const deployment = (): KubeManifest => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { initContainers: [{ name: 'migrate', image: 'm' }], containers: [{ name: 'app', image: 'a', envFrom: [{ configMapRef: { name: 'settings' } }] }] },
    },
  },
});
const service: KubeManifest = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } };

const orders: DatabaseConnection = {
  database: 'orders',
  envPrefix: 'ORDERS_DB',
  engine: 'postgres',
  host: 'tugboat-shop-orders.abc.us-east-1.rds.amazonaws.com',
  port: 5432,
  databaseName: 'orders',
  username: 'tugboat',
  password: 'p@ss:w/rd',
  passwordVersion: 'v1',
};

describe('withDatabaseConnections', () => {
  it('adds a Secret per database and wires every container (init ones too) with the prefix, leaving the input alone', () => {
    const input = [deployment(), service];
    const out = withDatabaseConnections(input, [orders], { 'tugboat.dev/instance': 'web' });
    expect(out.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Secret/tugboat-db-orders', 'Deployment/web', 'Service/web']);
    const secret = out[0] as KubeManifest & { data: Record<string, string> };
    const decoded = Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(decoded).toEqual({
      HOST: orders.host,
      PORT: '5432',
      DATABASE: 'orders',
      USERNAME: 'tugboat',
      PASSWORD: 'p@ss:w/rd',
      URL: `postgresql://tugboat:p%40ss%3Aw%2Frd@${orders.host}:5432/orders`,
    });
    expect(secret.metadata.labels).toEqual({ 'tugboat.dev/instance': 'web' });
    const template = (out[1] as unknown as { spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ envFrom: unknown[] }>; initContainers: Array<{ envFrom: unknown[] }> } } } }).spec.template;
    expect(template.spec.containers[0]!.envFrom).toEqual([{ configMapRef: { name: 'settings' } }, { prefix: 'ORDERS_DB_', secretRef: { name: 'tugboat-db-orders' } }]);
    expect(template.spec.initContainers[0]!.envFrom).toEqual([{ prefix: 'ORDERS_DB_', secretRef: { name: 'tugboat-db-orders' } }]);
    expect(template.metadata.annotations[DATABASES_CHECKSUM_ANNOTATION]).toMatch(/^[0-9a-f]{32}$/);
    expect(input[0]).toEqual(deployment());
    expect(withDatabaseConnections(input, [], {})).toEqual(input);
  });

  it('rolls the pods when the password version changes, never by the password itself (which is not in the checksum)', () => {
    const checksum = (connection: DatabaseConnection) =>
      (withDatabaseConnections([deployment()], [connection], {})[1] as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations[DATABASES_CHECKSUM_ANNOTATION];
    expect(checksum({ ...orders, password: 'other' })).toBe(checksum(orders));
    expect(checksum({ ...orders, passwordVersion: 'v2' })).not.toBe(checksum(orders));
    expect(checksum({ ...orders, host: 'elsewhere' })).not.toBe(checksum(orders));
  });

  it('writes mysql URLs for mysql', () => {
    expect(connectionUrl({ ...orders, engine: 'mysql', port: 3306, password: 'x' })).toBe(`mysql://tugboat:x@${orders.host}:3306/orders`);
  });
});
