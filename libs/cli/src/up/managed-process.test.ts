import { startManagedProcess } from './managed-process.js';

function collector() {
  const lines: string[] = [];
  let buffer = '';
  return {
    lines,
    sink: {
      write(text: string) {
        buffer += text;
        const parts = buffer.split('\n');
        buffer = parts.pop()!;
        lines.push(...parts);
      },
    },
  };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('startManagedProcess', () => {
  it('prefixes each line of stdout and stderr and reports the exit', async () => {
    const output = collector();
    const child = startManagedProcess({
      name: 'demo',
      command: process.execPath,
      args: ['-e', 'console.log("one\\ntwo"); console.error("oops"); process.exit(3)'],
      cwd: process.cwd(),
      env: process.env,
      output: output.sink,
      labelWidth: 6,
    });
    expect(await child.exited).toEqual({ code: 3, signal: null });
    expect(child.hasExited).toBe(true);
    expect(output.lines.sort()).toEqual(['demo   | one', 'demo   | oops', 'demo   | two']);
  });

  it('stops with the given signal, and kills a child that ignores it after the grace period', async () => {
    const output = collector();
    const polite = startManagedProcess({
      name: 'polite',
      command: process.execPath,
      args: ['-e', 'process.on("SIGTERM", () => { console.log("bye"); process.exit(0) }); console.log("up"); setInterval(() => {}, 1000)'],
      cwd: process.cwd(),
      env: process.env,
      output: output.sink,
    });
    const stubborn = startManagedProcess({
      name: 'stubborn',
      command: process.execPath,
      args: ['-e', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)'],
      cwd: process.cwd(),
      env: process.env,
      output: output.sink,
    });
    await until(() => output.lines.filter((line) => line.endsWith('| up')).length === 2);
    expect(await polite.stop('SIGTERM', 5_000)).toEqual({ code: 0, signal: null });
    expect(output.lines).toContain('polite | bye');
    expect(await stubborn.stop('SIGTERM', 200)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(output.lines).toContain('stubborn | did not stop within 200 ms; killing it');
  });

  it('reports a command that cannot start', async () => {
    const output = collector();
    const child = startManagedProcess({ name: 'x', command: '/nonexistent/tool', args: [], cwd: process.cwd(), env: {}, output: output.sink });
    expect((await child.exited).code).toBe(127);
    expect(output.lines[0]).toContain('could not start /nonexistent/tool');
  });
});
