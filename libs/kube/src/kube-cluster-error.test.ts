import { classifyKubeError, KubeClusterError } from './kube-cluster-error.js';

const endpoint = 'https://10.0.0.1:6443';

describe('classifyKubeError', () => {
  it('calls a refused connection unreachable, naming the endpoint and the socket error', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const error = classifyKubeError(new TypeError('fetch failed', { cause: socket }), { endpoint, action: 'GET /version' });
    expect(error.reason).toBe('Unreachable');
    expect(error.message).toContain(endpoint);
    expect(error.message).toContain('GET /version');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('calls 502/503/504 unreachable and keeps the server message', () => {
    const error = classifyKubeError(Object.assign(new Error('Unsuccessful HTTP Request'), { code: 503, body: { kind: 'Status', message: 'apiserver is shutting down' } }), { endpoint });
    expect(error).toMatchObject({ reason: 'Unreachable', status: 503 });
    expect(error.message).toContain('apiserver is shutting down');
  });

  it('calls 401 and 403 unauthorized', () => {
    expect(classifyKubeError(Object.assign(new Error('x'), { code: 401, body: '{"message":"Unauthorized"}' }), { endpoint }).reason).toBe('Unauthorized');
    const forbidden = classifyKubeError(Object.assign(new Error('x'), { code: 403, body: { message: 'nodes is forbidden' } }), { endpoint });
    expect(forbidden.reason).toBe('Unauthorized');
    expect(forbidden.message).toContain('nodes is forbidden');
  });

  it('calls a timeout unreachable and any other answer other', () => {
    expect(classifyKubeError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), { endpoint }).reason).toBe('Unreachable');
    expect(classifyKubeError(Object.assign(new Error('x'), { code: 422, body: { message: 'bad field' } }), { endpoint })).toMatchObject({ reason: 'Other', status: 422 });
    expect(classifyKubeError(new Error('something odd')).reason).toBe('Other');
  });

  it('returns an already classified error unchanged', () => {
    const original = new KubeClusterError('invalid kubeconfig: x', { reason: 'InvalidKubeconfig' });
    expect(classifyKubeError(original)).toBe(original);
  });
});
