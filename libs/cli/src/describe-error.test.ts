import { ConflictError, InputError, UnavailableError } from '@tugboat/resource-model';
import { describeError, EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE } from './describe-error.js';
import { UsageError } from './usage-error.js';

const serverUrl = 'http://127.0.0.1:7070';

describe('describeError', () => {
  it('prints the API message and each detail as path: rule', () => {
    const error = new InputError('spec.replicas: must be >= 0', { status: 422, details: [{ path: 'spec.replicas', rule: 'minimum' }] });
    expect(describeError(error, { serverUrl, subject: 'WorkloadInstance/web' })).toEqual({
      exitCode: EXIT_FAILED,
      lines: ['error: WorkloadInstance/web: spec.replicas: must be >= 0', '  spec.replicas: minimum'],
    });
  });

  it('tells a refused connection from a 503 answered by the API', () => {
    const refused = new UnavailableError('GET /v1/kinds: fetch failed', { cause: new TypeError('fetch failed') });
    expect(describeError(refused, { serverUrl })).toEqual({
      exitCode: EXIT_UNREACHABLE,
      lines: ['error: cannot reach the API at http://127.0.0.1:7070: is it running? (`pnpm start`)'],
    });
    expect(describeError(new UnavailableError('database unavailable'), { serverUrl }).exitCode).toBe(EXIT_FAILED);
  });

  it('gives usage errors exit code 2 and hints for in-use conflicts', () => {
    expect(describeError(new UsageError('-f x: no such file or directory'), { serverUrl }).exitCode).toBe(EXIT_USAGE);
    const inUse = new ConflictError('in use', { details: [{ path: 'ClusterInstance/_/dev', rule: 'in-use' }] });
    expect(describeError(inUse, { serverUrl }).lines.at(-1)).toContain('--cascade');
  });
});
