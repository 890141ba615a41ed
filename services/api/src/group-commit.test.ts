import { createGroupCommit, type GatherTimers, type ItemOutcome } from './group-commit.js';

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

/** Timers that fire only when the test moves time forward. */
function manualTimers(): GatherTimers & { advance(ms: number): void; readonly pending: number } {
  let now = 0;
  const due = new Map<object, { at: number; callback(): void }>();
  return {
    setTimeout(callback, ms) {
      const handle = {};
      due.set(handle, { at: now + ms, callback });
      return handle;
    },
    clearTimeout(handle) {
      due.delete(handle as object);
    },
    advance(ms) {
      now += ms;
      for (const [handle, timer] of [...due]) {
        if (timer.at > now) continue;
        due.delete(handle);
        timer.callback();
      }
    },
    get pending() {
      return due.size;
    },
  };
}

describe('group commit: the gather under load', () => {
  it('follows a batch smaller than minBatch at once; after a larger one, waits until as many again have joined', async () => {
    const { batches, run } = manualRun();
    const timers = manualTimers();
    const group = createGroupCommit<string, string>({ run, maxInFlight: 1, maxBatch: 64, gather: { minBatch: 4, ms: 50 }, timers });
    const answers = ['a', 'b', 'c', 'd', 'e'].map((item) => group.submit(item));
    expect(batches.map((b) => b.items)).toEqual([['a']]);
    batches[0]!.finish();
    await tick();
    // One object returned: the next batch goes at once, with what waited.
    expect(batches.map((b) => b.items)).toEqual([['a'], ['b', 'c', 'd', 'e']]);
    answers.push(...['f', 'g'].map((item) => group.submit(item)));
    batches[1]!.finish();
    await tick();
    // Four returned while two waited: the next batch waits for four more (their callers coming back).
    expect(batches).toHaveLength(2);
    answers.push(...['h', 'i', 'j'].map((item) => group.submit(item)));
    await tick();
    expect(batches).toHaveLength(2);
    answers.push(group.submit('k'));
    await tick();
    expect(batches.map((b) => b.items)[2]).toEqual(['f', 'g', 'h', 'i', 'j', 'k']);
    // The gather ended by the queue: its timer is gone, and firing it later sends nothing.
    expect(timers.pending).toBe(0);
    batches[2]!.finish();
    await tick();
    expect(await Promise.all(answers)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].map((item) => `done ${item}`));
  });

  it('sends what joined once `ms` have passed, and never waits past a full batch', async () => {
    const { batches, run } = manualRun();
    const timers = manualTimers();
    const group = createGroupCommit<string, string>({ run, maxInFlight: 1, maxBatch: 6, gather: { minBatch: 2, ms: 50 }, timers });
    group.submit('x');
    const waiting = ['a', 'b'].map((item) => group.submit(item));
    batches[0]!.finish();
    await tick();
    expect(batches.map((b) => b.items)[1]).toEqual(['a', 'b']);
    batches[1]!.finish();
    await Promise.all(waiting);
    // Two returned and nothing waits: the next batch waits for two, or 50 ms.
    const late = group.submit('c');
    timers.advance(49);
    await tick();
    expect(batches).toHaveLength(2);
    timers.advance(1);
    await tick();
    expect(batches.map((b) => b.items)[2]).toEqual(['c']);
    batches[2]!.finish([{ ok: true, value: 'c!' }]);
    await expect(late).resolves.toBe('c!');

    // After a batch of one (below minBatch) nothing waits; then a full batch goes without waiting.
    const many = ['d', 'e', 'f', 'g', 'h', 'i', 'j'].map((item) => group.submit(item));
    expect(batches.map((b) => b.items)[3]).toEqual(['d']);
    batches[3]!.finish();
    await tick();
    expect(batches.map((b) => b.items)[4]).toEqual(['e', 'f', 'g', 'h', 'i', 'j']);
    batches[4]!.finish();
    await tick();
    // Six returned (maxBatch): the gather waits for at most a full batch, and one is not.
    expect(batches).toHaveLength(5);
    const more = ['k', 'l', 'm', 'n', 'o'].map((item) => group.submit(item));
    await tick();
    expect(batches).toHaveLength(5);
    more.push(group.submit('p'));
    expect(batches.map((b) => b.items)[5]).toEqual(['k', 'l', 'm', 'n', 'o', 'p']);
    batches[5]!.finish();
    await Promise.all([...many, ...more]);
  });
});
