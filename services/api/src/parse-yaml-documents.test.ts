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
});
