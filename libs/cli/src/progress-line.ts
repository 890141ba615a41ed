import type { TextSink } from './command-context.js';

export interface ProgressLine {
  /** The current state; on a terminal it replaces the line, elsewhere it is printed when it changed. */
  update(text: string): void;
  /** Clears the line on a terminal; prints nothing elsewhere. */
  done(): void;
}

export interface ProgressLineOptions {
  sink: TextSink;
  now?: () => number;
  /** How often a terminal line is redrawn to move the elapsed time on. Default 1 s. */
  tickMs?: number;
}

/**
 * A live line saying what a command waits on. On a terminal it is one line rewritten in place
 * (with the time waited so far); in a log or a pipe each change is one line, and nothing else.
 */
export function createProgressLine(options: ProgressLineOptions): ProgressLine {
  const { sink } = options;
  const now = options.now ?? Date.now;
  const started = now();
  let current: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  if (!sink.isTTY) {
    return {
      update(text) {
        if (text === current) return;
        current = text;
        sink.write(`${text}\n`);
      },
      done() {},
    };
  }
  const draw = () => {
    if (current === undefined) return;
    const line = `${current} (${Math.floor((now() - started) / 1000)}s)`;
    // A line longer than the terminal wraps, and `\r` would then rewrite only its last part.
    const width = sink.columns !== undefined && sink.columns > 1 ? sink.columns - 1 : undefined;
    sink.write(`\r\u001b[2K${width !== undefined && line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
  };
  return {
    update(text) {
      current = text;
      draw();
      if (timer === undefined) {
        timer = setInterval(draw, options.tickMs ?? 1_000);
        timer.unref();
      }
    },
    done() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (current !== undefined) sink.write('\r\u001b[2K');
      current = undefined;
    },
  };
}
