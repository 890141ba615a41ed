import { InputError } from '@tugboat/resource-model';
import { controllerEnvironment } from './controller-environment.js';

describe('controllerEnvironment', () => {
  it('reads the names tug up and the Deployments set, with defaults for the rest', () => {
    expect(controllerEnvironment({ TUGBOAT_URL: 'http://api:7070', TUGBOAT_TOKEN: 't', PORT: '9090', NATS_URL: 'nats://a:4222, nats://b:4222' })).toEqual({
      apiUrl: 'http://api:7070',
      token: 't',
      natsUrl: ['nats://a:4222', 'nats://b:4222'],
      prefix: 'tugboat',
      logLevel: 'info',
      healthPort: 9090,
    });
    expect(controllerEnvironment({ TUGBOAT_URL: 'http://api:7070', TUGBOAT_TOKEN: 't', TUGBOAT_LEASE_TTL_MS: '3000' }).leaseTtlMs).toBe(3_000);
  });

  it('names every missing or malformed variable at once', () => {
    let error: unknown;
    try {
      controllerEnvironment({ PORT: 'http', TUGBOAT_LEASE_TTL_MS: '200' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).details.map((d) => `${d.path}:${d.rule}`)).toEqual(['TUGBOAT_URL:required', 'TUGBOAT_TOKEN:required', 'PORT:port', 'TUGBOAT_LEASE_TTL_MS:minimum']);
  });
});
