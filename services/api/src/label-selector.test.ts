import { parseLabelSelector } from './label-selector.js';

describe('parseLabelSelector', () => {
  it('reads equality, inequality, existence and absence', () => {
    expect(parseLabelSelector('a=b, c!=d,e,!f,g==h,example.com/team=x')).toEqual([
      { op: 'eq', key: 'a', value: 'b' },
      { op: 'neq', key: 'c', value: 'd' },
      { op: 'exists', key: 'e' },
      { op: 'absent', key: 'f' },
      { op: 'eq', key: 'g', value: 'h' },
      { op: 'eq', key: 'example.com/team', value: 'x' },
    ]);
    expect(parseLabelSelector('')).toEqual([]);
    expect(parseLabelSelector('a=')).toEqual([{ op: 'eq', key: 'a', value: '' }]);
  });

  it.each(['a===b', '!a=b', 'bad key=x', 'a=b c', 'a in (b)'])('refuses %p naming labelSelector', (text) => {
    expect(() => parseLabelSelector(text)).toThrow(expect.objectContaining({ status: 400, details: [{ path: 'labelSelector', rule: 'syntax' }] }));
  });
});
