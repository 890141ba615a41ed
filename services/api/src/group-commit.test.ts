import { createGroupCommit, type ItemOutcome } from './group-commit.js';

/** A `run` whose batches the test completes by hand. */
function manualRun() {
  const batches: Array<{ items: string[]; finish(outcomes?: Array<ItemOutcome<string>>): void; fail(error: unknown): void }> = [];
  const run = (items: string[]) =>
    new Promise<Array<ItemOutcome<string>>>((resolve, reject) => {
      batches.push({ items, finish: (outcomes) => resolve(outcomes ?? items.map((item) => ({ ok: true, value: `done ${item}` }))), fail: reject });
    });
  return { batches, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('sends at once while fewer than maxInFlight batches are on their way, then groups what waits', async () => {
    const { batches, run } = manualRun();
    const group = createGroupCommit<string, string>({ run, maxInFlight: 2, maxBatch: 3 });
    const answers = ['a', 'b', 'c', 'd', 'e', 'f'].map((item) => group.submit(item));
    expect(batches.map((b) => b.items)).toEqual([['a'], ['b']]);
    expect(group.inFlight).toBe(2);
    batches[0]!.finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([['a'], ['b'], ['c', 'd', 'e']]);
    batches[1]!.finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([['a'], ['b'], ['c', 'd', 'e'], ['f']]);
    batches[2]!.finish();
    batches[3]!.finish();
    expect(await Promise.all(answers)).toEqual(['done a', 'done b', 'done c', 'done d', 'done e', 'done f']);
    expect(group.inFlight).toBe(0);
  });

  it('answers nothing before its batch returned, and fails only the items whose outcome is an error', async () => {
    const { batches, run } = manualRun();
    const group = createGroupCommit<string, string>({ run, maxInFlight: 1, maxBatch: 10 });
    const first = group.submit('first');
    const settled: string[] = [];
    const rest = ['x', 'y', 'z'].map((item) => group.submit(item).then((v) => settled.push(v), (e: Error) => settled.push(`failed ${e.message}`)));
    batches[0]!.finish();
    await first;
    await tick();
    expect(settled).toEqual([]);
    batches[1]!.finish([{ ok: true, value: 'x!' }, { ok: false, error: new Error('taken') }, { ok: true, value: 'z!' }]);
    await Promise.all(rest);
    expect(settled).toEqual(['x!', 'failed taken', 'z!']);
  });

  it('fails every item of a batch whose run throws, and goes on with the next batch', async () => {
    const { batches, run } = manualRun();
    const group = createGroupCommit<string, string>({ run, maxInFlight: 1, maxBatch: 10 });
    const a = group.submit('a');
    const b = group.submit('b');
    batches[0]!.fail(new Error('database gone'));
    await expect(a).rejects.toThrow('database gone');
    await tick();
    batches[1]!.finish();
    await expect(b).resolves.toBe('done b');
  });

  it('never puts two items with one key in one batch, and keeps their order', async () => {
    const { batches, run } = manualRun();
    const group = createGroupCommit<string, string>({ run, maxInFlight: 1, maxBatch: 10, keyOf: (item) => item.split(':')[0]! });
    const answers = ['busy', 'k:1', 'j:1', 'k:2', 'k:3', 'j:2'].map((item) => group.submit(item));
    batches[0]!.finish();
    await tick();
    expect(batches[1]!.items).toEqual(['k:1', 'j:1']);
    batches[1]!.finish();
    await tick();
    expect(batches[2]!.items).toEqual(['k:2', 'j:2']);
    batches[2]!.finish();
    await tick();
    expect(batches[3]!.items).toEqual(['k:3']);
    batches[3]!.finish();
    await Promise.all(answers);
  });

  it('refuses limits below one', () => {
    expect(() => createGroupCommit({ run: async () => [], maxInFlight: 0, maxBatch: 1 })).toThrow(RangeError);
  });
});

describe('group commit bound', () => {
  it('refuses a write at once with 503 and Retry-After when maxQueued writes already wait, and takes writes again once they drained', async () => {
    const { batches, run } = manualRun();
    const group = createGroupCommit<string, string>({ run, maxInFlight: 1, maxBatch: 2, maxQueued: 2, retryAfterSeconds: 3 });
    const first = group.submit('a');
    const waiting = [group.submit('b'), group.submit('c')];
    expect(group.queued).toBe(2);
    await expect(group.submit('d')).rejects.toMatchObject({ status: 503, code: 'Unavailable', retryAfterSeconds: 3, details: [{ path: 'body', rule: 'max-queued-writes' }] });
    expect(group.queued).toBe(2);
    batches[0]!.finish();
    await tick();
    expect(group.queued).toBe(0);
    const later = group.submit('e');
    batches[1]!.finish();
    await tick();
    batches[2]!.finish();
    expect(await Promise.all([first, ...waiting, later])).toEqual(['done a', 'done b', 'done c', 'done e']);
  });
});
