import { createWorkQueue } from './work-queue.js';

const key = (name: string) => ({ kind: 'Widget', project: 'team-a', name });

describe('createWorkQueue', () => {
  it('merges deliveries for a waiting key and hands keys out in arrival order', async () => {
    const queue = createWorkQueue<string>();
    const signal = new AbortController().signal;
    queue.add(key('a'), 'a1');
    queue.add(key('b'), 'b1');
    queue.add(key('a'), 'a2');
    expect(queue.depth).toBe(2);
    expect(queue.held).toBe(3);

    const first = await queue.take(signal);
    expect(first?.deliveries).toEqual(['a1', 'a2']);
    const second = await queue.take(signal);
    expect(second?.deliveries).toEqual(['b1']);
    queue.finish(first!);
    queue.finish(second!);
    expect(queue.held).toBe(0);
  });

  it('never hands out a key that is being processed; a delivery meanwhile runs after it finishes', async () => {
    const queue = createWorkQueue<string>();
    const signal = new AbortController().signal;
    queue.add(key('a'), 'a1');
    const running = (await queue.take(signal))!;
    queue.add(key('a'), 'a2');
    queue.add(key('b'), 'b1');

    const next = await queue.take(signal);
    expect(next?.id).toBe('Widget/team-a/b');
    let handedOut: string[] | undefined;
    const waiting = queue.take(signal).then((item) => (handedOut = item?.deliveries));
    await new Promise((resolve) => setImmediate(resolve));
    expect(handedOut).toBeUndefined();
    expect(queue.allDeliveries().sort()).toEqual(['a1', 'a2', 'b1']);

    queue.finish(running);
    await waiting;
    expect(handedOut).toEqual(['a2']);
  });

  it('gives up waiting on abort, removes waiting keys on shutdown, and reports capacity', async () => {
    const queue = createWorkQueue<string>();
    const controller = new AbortController();
    const pending = queue.take(controller.signal);
    controller.abort();
    await expect(pending).resolves.toBeUndefined();

    const signal = new AbortController().signal;
    queue.add(key('a'), 'a1');
    queue.add(key('b'), 'b1');
    const running = (await queue.take(signal))!;
    let below = false;
    const capacity = queue.whenHeldBelow(2, signal).then(() => (below = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(below).toBe(false);
    expect(queue.removeWaiting()).toEqual(['b1']);
    await capacity;
    expect(below).toBe(true);
    queue.finish(running);
    expect(queue.held).toBe(0);
  });
});
