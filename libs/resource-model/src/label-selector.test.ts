import { formatLabelSelector, isLabelKey, matchesLabelSelector, MAX_LABEL_SELECTOR_LENGTH, parseLabelSelector } from './label-selector.js';

describe('parseLabelSelector', () => {
  it('reads equality, inequality, existence and absence', () => {
    expect(parseLabelSelector('a=b, c!=d,e,!f,g==h,example.com/team=x, i = j ,! k')).toEqual([
      { op: 'eq', key: 'a', value: 'b' },
      { op: 'neq', key: 'c', value: 'd' },
      { op: 'exists', key: 'e' },
      { op: 'absent', key: 'f' },
      { op: 'eq', key: 'g', value: 'h' },
      { op: 'eq', key: 'example.com/team', value: 'x' },
      { op: 'eq', key: 'i', value: 'j' },
      { op: 'absent', key: 'k' },
    ]);
    expect(parseLabelSelector('')).toEqual([]);
    expect(parseLabelSelector(' , ,')).toEqual([]);
    expect(parseLabelSelector('a=')).toEqual([{ op: 'eq', key: 'a', value: '' }]);
  });

  it.each([
    ['a===b', 'label-value'],
    ['!a=b', 'syntax'],
    ['bad key=x', 'label-key'],
    ['a=b c', 'label-value'],
    ['a in (b)', 'label-key'],
    ['a!b', 'syntax'],
    ['=b', 'syntax'],
    ['!', 'syntax'],
    [`a=${'v'.repeat(64)}`, 'label-value'],
    [`${'k'.repeat(64)}`, 'label-key'],
  ])('refuses %p naming the term and the rule %p', (text, rule) => {
    expect(() => parseLabelSelector(`ok=1,${text}`)).toThrow(
      expect.objectContaining({ status: 400, details: [{ path: 'labelSelector', rule }] }),
    );
    expect(() => parseLabelSelector(text)).toThrow(text.length > 80 ? /labelSelector: "/ : `"${text.trim()}"`);
  });

  it('names the field it is given', () => {
    expect(() => parseLabelSelector('a b', { field: '-l' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^-l: "a b"/), details: [expect.objectContaining({ path: '-l' })] }));
  });

  it('refuses a selector longer than the limit at once, naming the limit', () => {
    const huge = 'a'.repeat(MAX_LABEL_SELECTOR_LENGTH + 1);
    expect(() => parseLabelSelector(huge)).toThrow(expect.objectContaining({ details: [{ path: 'labelSelector', rule: 'max-length' }] }));
    expect(() => parseLabelSelector(huge)).toThrow(`the limit is ${MAX_LABEL_SELECTOR_LENGTH}`);
  });

  // The parser it replaces spent quadratic time on one long term (a lazy group before `\s*`):
  // 100 KB of spaces inside a term took minutes. These inputs are 100 KB each.
  it.each([
    ['one term of spaces', `a${' '.repeat(100_000)}b`],
    ['one long key', 'k'.repeat(100_000)],
    ['many requirements', Array.from({ length: 14_000 }, (_, i) => `k${i % 10}=v${i % 100}`).join(',')],
    ['many commas', ','.repeat(100_000)],
  ])('parses or refuses 100 KB (%s) in linear time', (_what, text) => {
    expect(text.length).toBeGreaterThan(90_000);
    const started = performance.now();
    try {
      parseLabelSelector(text, { maxLength: 200_000 });
    } catch (error) {
      expect(error).toMatchObject({ status: 400 });
    }
    // Linear work on 100 KB is a few milliseconds; a generous bound for a loaded machine.
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('isLabelKey', () => {
  it('follows the Kubernetes rule', () => {
    expect(isLabelKey('tier')).toBe(true);
    expect(isLabelKey('tugboat.dev/owner')).toBe(true);
    expect(isLabelKey('a/b/c')).toBe(false);
    expect(isLabelKey(`${'a'.repeat(254)}/x`)).toBe(false);
    expect(isLabelKey('-x')).toBe(false);
  });
});

describe('matchesLabelSelector', () => {
  it('matches own labels only', () => {
    const requirements = parseLabelSelector('tier=prod,canary!=true,team,!legacy');
    expect(matchesLabelSelector(requirements, { tier: 'prod', team: 'a' })).toBe(true);
    expect(matchesLabelSelector(requirements, { tier: 'prod', team: 'a', canary: 'true' })).toBe(false);
    expect(matchesLabelSelector(requirements, { tier: 'prod', team: 'a', legacy: '' })).toBe(false);
    expect(matchesLabelSelector(parseLabelSelector('constructor'), {})).toBe(false);
    expect(matchesLabelSelector(parseLabelSelector('!toString'), {})).toBe(true);
    expect(matchesLabelSelector(requirements, undefined)).toBe(false);
  });

  it('formats equality selectors', () => {
    expect(formatLabelSelector({ tier: 'prod', team: 'a' })).toBe('tier=prod,team=a');
  });
});
