/**
 * DNS names as Route 53 keeps them: lower case, fully qualified with a trailing dot, and every
 * character other than `a-z 0-9 - _` written as a three-digit octal escape (`*` is `\052`), which
 * is how names come back in answers. Requests may use the character or its escape.
 */

export class DnsNameError extends Error {}

const PLAIN = /[a-z0-9_-]/;
const MAX_NAME_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;

/** The name as Route 53 answers with it: `\052.Example.com` → `\052.example.com.`. */
export function normalizeDnsName(input: string): string {
  const labels = decodedLabels(input);
  const name = `${labels.map((label) => [...label].map(escapeChar).join('')).join('.')}.`;
  return name;
}

/** The labels of a name with escapes decoded, lower-cased, without the root; checks their lengths. */
export function decodedLabels(input: string): string[] {
  let text = input.trim();
  if (text === '' || text === '.') throw new DnsNameError('the name is empty');
  if (text.endsWith('.') && !text.endsWith('\\.')) text = text.slice(0, -1);
  const labels: string[] = [];
  let label = '';
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (char === '\\') {
      const octal = /^[0-7]{3}/.exec(text.slice(i + 1))?.[0];
      if (octal !== undefined) {
        label += String.fromCharCode(Number.parseInt(octal, 8));
        i += 3;
      } else {
        if (i + 1 >= text.length) throw new DnsNameError('the name ends with a lone backslash');
        label += text[i + 1];
        i += 1;
      }
    } else if (char === '.') {
      labels.push(label);
      label = '';
    } else {
      label += char;
    }
  }
  labels.push(label);
  const lowered = labels.map((l) => l.toLowerCase());
  if (lowered.some((l) => l === '')) throw new DnsNameError('the name has an empty label');
  if (lowered.some((l) => l.length > MAX_LABEL_LENGTH)) throw new DnsNameError(`a label is longer than ${MAX_LABEL_LENGTH} characters`);
  if (lowered.join('.').length + 1 > MAX_NAME_LENGTH) throw new DnsNameError(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  return lowered;
}

function escapeChar(char: string): string {
  if (PLAIN.test(char)) return char;
  const code = char.charCodeAt(0);
  if (code > 0xff) throw new DnsNameError(`the character '${char}' cannot be in a DNS name`);
  return `\\${code.toString(8).padStart(3, '0')}`;
}

/**
 * The key Route 53 lists names by: the labels reversed, as one string with a trailing dot
 * (`www.example.com.` → `com.example.www.`), compared character by character — so `a-b.example.com.`
 * comes before `a.example.com.`, as the API reference warns.
 */
export function reversedNameKey(normalized: string): string {
  const labels = normalized.slice(0, -1).split('.');
  return `${labels.reverse().join('.')}.`;
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether `name` is `zone` or a name below it (both normalized). */
export function isWithinZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}
