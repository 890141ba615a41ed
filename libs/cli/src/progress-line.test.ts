import { createProgressLine } from './progress-line.js';

function sink(isTTY: boolean, columns?: number) {
  const written: string[] = [];
  return { written, sink: { write: (text: string) => written.push(text), isTTY, ...(columns === undefined ? {} : { columns }) } };
}

describe('createProgressLine', () => {
  it('prints each change once, on its own line, when not a terminal', () => {
    const out = sink(false);
    const line = createProgressLine({ sink: out.sink });
    line.update('phase Pending');
    line.update('phase Pending');
    line.update('phase Ready');
    line.done();
    expect(out.written).toEqual(['phase Pending\n', 'phase Ready\n']);
  });

  it('rewrites one line on a terminal with the time waited, cut to the width, and clears it at the end', () => {
    const out = sink(true, 20);
    let clock = 0;
    const line = createProgressLine({ sink: out.sink, now: () => clock, tickMs: 60_000 });
    line.update('phase Pending');
    clock = 3_000;
    line.update('phase Progressing for a long while');
    line.done();
    expect(out.written).toEqual(['\r\u001b[2Kphase Pending (0s)', '\r\u001b[2Kphase Progressing …', '\r\u001b[2K']);
  });
});
