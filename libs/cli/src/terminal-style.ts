/** ANSI colours for a terminal; every function is the identity when colour is off. */
export interface TerminalStyle {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;

export function terminalStyle(color: boolean): TerminalStyle {
  if (!color) {
    const same = (text: string) => text;
    return { green: same, red: same, yellow: same, bold: same, dim: same };
  }
  return { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
}
