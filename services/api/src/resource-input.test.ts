import { InputError } from '@tugboat/resource-model';
import { DetailCollector, detailMessage } from './resource-input.js';

const thrown = (collect: (problems: DetailCollector) => void): InputError => {
  const problems = new DetailCollector();
  collect(problems);
  try {
    problems.throwIfAny();
  } catch (error) {
    return error as InputError;
  }
  throw new Error('nothing thrown');
};

describe('detailMessage', () => {
  it('gives each detail its own message, also when a message holds "; " or another path', () => {
    const error = thrown((problems) => {
      problems.add('spec.a', 'type', 'must be a string; see spec.b: it is fine');
      problems.add('spec.b', 'required', 'is required');
    });
    expect(error.details).toEqual([
      { path: 'spec.a', rule: 'type' },
      { path: 'spec.b', rule: 'required' },
    ]);
    expect(detailMessage(error, 'spec.a')).toBe('must be a string; see spec.b: it is fine');
    expect(detailMessage(error, 'spec.b')).toBe('is required');
    expect(detailMessage(error, 'spec.c')).toBe(error.message);
    // An error built elsewhere: its `path: message` pairs are read from its message.
    expect(detailMessage(new InputError('x: one; y: two'), 'y')).toBe('two');
  });

  // Each lookup searched the joined message of all details: 8,000 unknown fields held the API's loop
  // for 5 s, 70,000 past a minute. A generous bound, never a race: the old code takes minutes here.
  it('is linear over all the details of one error', () => {
    const error = thrown((problems) => {
      for (let i = 0; i < 50_000; i++) problems.add(`metadata.k${i}`, 'additionalProperties', 'unknown field');
    });
    const started = Date.now();
    for (const detail of error.details) expect(detailMessage(error, detail.path)).toBe('unknown field');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
