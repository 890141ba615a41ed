import { parseYamlDocuments } from './parse-yaml-documents.js';
import { DEFAULT_REQUEST_LIMITS } from './request-limits.js';

const limits = DEFAULT_REQUEST_LIMITS;
const rule = (text: string): string | undefined => {
  try {
    parseYamlDocuments(text, limits);
    return undefined;
  } catch (error) {
    return (error as { details: Array<{ rule: string }> }).details[0]!.rule;
  }
};

describe('parseYamlDocuments', () => {
  it('reads ordinary documents, empty ones as null', () => {
    expect(parseYamlDocuments('a: 1\n---\n---\n- [x, {y: "[["}]\n', limits)).toEqual([{ a: 1 }, null, [['x', { y: '[[' }]]]);
  });

  it('refuses deep flow nesting before the parser sees it (2 KB of [[[[ ran the API out of memory)', () => {
    const started = Date.now();
    expect(rule(`${'['.repeat(1000)}${']'.repeat(1000)}`)).toBe('max-depth');
    expect(rule(`${'{a: '.repeat(200_000)}1${'}'.repeat(200_000)}`)).toBe('max-depth');
    expect(rule(`${'['.repeat(limits.maxDepth)}${']'.repeat(limits.maxDepth)}`)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses deep block nesting, compact or indented', () => {
    expect(rule(`${'- '.repeat(300_000)}x\n`)).toBe('max-depth');
    expect(rule(`${Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`)).toBe('max-depth');
    // Within the pre-scan's bound but deeper than the limit: the values' own check refuses it.
    expect(rule(`${'- '.repeat(limits.maxDepth + 1)}x\n`)).toBe('max-depth');
    expect(rule(`${'- '.repeat(limits.maxDepth)}x\n`)).toBeUndefined();
  });

  it('refuses too many aliases and too many documents, naming the limit', () => {
    const laughs = `a: &a [x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(9).fill(`*${i === 0 ? 'a' : 'bcdefghi'[i - 1]}`).join(', ')}]`).join('\n')}\n`;
    expect(rule(laughs)).toBe('max-aliases');
    expect(rule('---\n'.repeat(limits.maxDocuments + 1))).toBe('max-documents');
    expect(rule('kind: [unclosed')).toBe('yaml');
  });

  it('refuses a key held twice in one mapping, naming key and line; other mappings may reuse keys', () => {
    expect(() => parseYamlDocuments('a: 1\nb:\n  c: 1\n  c: 2\n', limits)).toThrow('body: YAML document 1 has the key "c" twice in one mapping (line 4)');
    expect(() => parseYamlDocuments('{1: a, 1: b}\n', limits)).toThrow('has the key "1" twice');
    expect(parseYamlDocuments('x: {a: 1}\ny: {a: 1, b: 2}\n---\nx: 2\n', limits)).toEqual([{ x: { a: 1 }, y: { a: 1, b: 2 } }, { x: 2 }]);
    // 50,000 distinct keys in one mapping are fine: a set per mapping, not every pair compared (the
    // library's own check took ~30 s for this here; a generous bound, never a race).
    const many = `${Array.from({ length: 50_000 }, (_, i) => `k${i}: 1`).join('\n')}\n`;
    const started = Date.now();
    expect(Object.keys(parseYamlDocuments(many, limits)[0] as object)).toHaveLength(50_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses more keys and values than the limit before parsing them', () => {
    expect(rule(`[${Array(limits.maxYamlScalars + 1).fill('1').join(',')}]`)).toBe('max-yaml-scalars');
    expect(rule(`[${Array(limits.maxYamlScalars).fill('1').join(',')}]`)).toBeUndefined();
  });
});
