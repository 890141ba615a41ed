import { memoInTx, openTxMemo } from './tx-memo.js';

describe('tx memo', () => {
  it('keeps a found answer per kind and key while open, never "not found", and forgets a kind or everything on request', async () => {
    const tx = {};
    let reads = 0;
    const read = (answer: string | undefined) => () => {
      reads += 1;
      return Promise.resolve(answer);
    };
    // No memo open: every read goes through.
    await memoInTx(tx, 'Definition', 'web', read('v1'));
    await memoInTx(tx, 'Definition', 'web', read('v1'));
    expect(reads).toBe(2);

    const memo = openTxMemo(tx);
    expect(await memoInTx(tx, 'Definition', 'web', read('v1'))).toBe('v1');
    expect(await memoInTx(tx, 'Definition', 'web', read('v2'))).toBe('v1');
    expect(await memoInTx(tx, 'Cluster', 'web', read('c1'))).toBe('c1');
    expect(reads).toBe(4);
    // "Not found" is read again: an object of the same apply may create it.
    expect(await memoInTx(tx, 'Definition', 'api', read(undefined))).toBeUndefined();
    expect(await memoInTx(tx, 'Definition', 'api', read('a1'))).toBe('a1');
    expect(reads).toBe(6);
    // A failed read is not kept either.
    await expect(memoInTx(tx, 'Definition', 'db', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await memoInTx(tx, 'Definition', 'db', read('d1'))).toBe('d1');

    memo.forget('Definition');
    expect(await memoInTx(tx, 'Definition', 'web', read('v2'))).toBe('v2');
    expect(await memoInTx(tx, 'Cluster', 'web', read('c2'))).toBe('c1');
    memo.pause();
    expect(await memoInTx(tx, 'Cluster', 'web', read('c2'))).toBe('c2');
    memo.resume();
    expect(await memoInTx(tx, 'Cluster', 'web', read('c3'))).toBe('c3');
    expect(await memoInTx(tx, 'Cluster', 'web', read('c4'))).toBe('c3');
    // Another transaction has its own (here: none).
    expect(await memoInTx({}, 'Cluster', 'web', read('other'))).toBe('other');
    memo.close();
    expect(await memoInTx(tx, 'Cluster', 'web', read('c5'))).toBe('c5');
  });
});
