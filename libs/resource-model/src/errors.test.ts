import { ConflictError, errorFromBody, InputError, isTugboatError, TerminalError } from './errors.js';

describe('error family', () => {
  it('round-trips through the HTTP body shape', () => {
    const original = new InputError('spec.replicas must be >= 0', { status: 422, details: [{ path: 'spec.replicas', rule: 'minimum' }] });
    const rebuilt = errorFromBody(original.status, original.toBody());
    expect(rebuilt).toBeInstanceOf(InputError);
    expect(rebuilt.status).toBe(422);
    expect(rebuilt.details).toEqual([{ path: 'spec.replicas', rule: 'minimum' }]);
  });

  it('keeps terminal errors terminal across the wire', () => {
    expect(errorFromBody(422, new TerminalError('bad').toBody())).toBeInstanceOf(TerminalError);
    expect(errorFromBody(403, '<html>Forbidden</html>').message).toBe('HTTP 403, and the answer is not a Tugboat API error: check that the server address is the Tugboat API');
  });

  it('recognises errors by brand, not by class identity', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('tugboat.error')]: true });
    expect(isTugboatError(foreign)).toBe(true);
    expect(isTugboatError(new Error('x'))).toBe(false);
    expect(isTugboatError(new ConflictError('stale'))).toBe(true);
  });
});
