import { decodeKeyMessage, keyFromSubject } from './change-message.js';

const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const event = { kind: 'Gadget', project: 'team-a', name: 'g1', uid: 'u1', generation: 2, resourceVersion: '7', cause: 'spec', seq: '9', at: 'now' };

describe('decodeKeyMessage', () => {
  it('reads a change event and a resync key', () => {
    expect(decodeKeyMessage(bytes(event), 'p.res.Gadget.team-a.g1', 'p')).toEqual({
      ok: true,
      message: { kind: 'Gadget', project: 'team-a', name: 'g1', cause: 'spec', uid: 'u1', generation: 2, resourceVersion: '7' },
    });
    expect(decodeKeyMessage(bytes({ kind: 'Gadget', project: '', name: 'g1', cause: 'resync' }), 'p.resync.ctl.Gadget._.g1', 'p')).toMatchObject({
      ok: true,
      message: { project: '', cause: 'resync' },
    });
  });

  it('rejects garbage, naming the object from the subject when it can', () => {
    expect(decodeKeyMessage(bytes('{nope'), 'p.res.Gadget.team-a.g1', 'p')).toEqual({
      ok: false,
      reason: 'body is not JSON',
      key: { kind: 'Gadget', project: 'team-a', name: 'g1' },
    });
    expect(decodeKeyMessage(new Uint8Array([0xff, 0xfe]), 'elsewhere', 'p')).toEqual({ ok: false, reason: 'body is not JSON' });
    expect(decodeKeyMessage(bytes({ ...event, cause: 'gossip' }), 'p.res.Gadget.team-a.g1', 'p')).toMatchObject({ ok: false, reason: 'cause is missing or unknown' });
    expect(decodeKeyMessage(bytes({ ...event, name: 'other' }), 'p.res.Gadget.team-a.g1', 'p')).toMatchObject({ ok: false, reason: 'the key in the body differs from the subject' });
    expect(decodeKeyMessage(bytes([1, 2]), 'p.res.Gadget.team-a.g1', 'p')).toMatchObject({ ok: false, reason: 'body is not an object' });
  });

  it('reads keys from both subject shapes only', () => {
    expect(keyFromSubject('p.res.Hub._.h1', 'p')).toEqual({ kind: 'Hub', project: '', name: 'h1' });
    expect(keyFromSubject('p.resync.ctl.Hub.team-a.h1', 'p')).toEqual({ kind: 'Hub', project: 'team-a', name: 'h1' });
    expect(keyFromSubject('p.dead.ctl', 'p')).toBeUndefined();
    expect(keyFromSubject('q.res.Hub._.h1', 'p')).toBeUndefined();
  });
});
