import { createRenderCache } from './render-cache.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('render cache', () => {
  it('shares a run between identical requests and keeps a bounded number of results', async () => {
    const cache = createRenderCache<string>(2);
    let runs = 0;
    const gate = deferred<string>();
    const produce = () => {
      runs += 1;
      return gate.promise;
    };
    const both = Promise.all([cache.get('a', produce), cache.get('a', produce)]);
    gate.resolve('A');
    expect(await both).toEqual(['A', 'A']);
    expect(await cache.get('a', produce)).toBe('A');
    expect(runs).toBe(1);
    await cache.get('b', () => Promise.resolve('B'));
    await cache.get('a', produce); // a is now the most recent
    await cache.get('c', () => Promise.resolve('C')); // evicts b
    expect(cache.size).toBe(2);
    let rerun = false;
    await cache.get('b', () => ((rerun = true), Promise.resolve('B')));
    expect(rerun).toBe(true);
  });

  it('does not keep failures', async () => {
    const cache = createRenderCache<string>(4);
    await expect(cache.get('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.get('a', () => Promise.resolve('ok'))).toBe('ok');
  });

  it('stops the shared run only when every caller has aborted', async () => {
    const cache = createRenderCache<string>(4);
    const runSignals: AbortSignal[] = [];
    const gate = deferred<string>();
    const produce = (signal: AbortSignal) => {
      runSignals.push(signal);
      return gate.promise;
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = cache.get('k', produce, first.signal);
    const b = cache.get('k', produce, second.signal);
    first.abort(new Error('first gave up'));
    await expect(a).rejects.toThrow('first gave up');
    expect(runSignals[0]?.aborted).toBe(false);
    second.abort(new Error('second gave up'));
    await expect(b).rejects.toThrow('second gave up');
    expect(runSignals[0]?.aborted).toBe(true);
    gate.resolve('late');
    // The aborted run is not kept: the next caller starts a new one.
    const next = deferred<string>();
    const c = cache.get('k', () => next.promise);
    next.resolve('fresh');
    expect(await c).toBe('fresh');
  });
});
