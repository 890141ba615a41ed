import { parseSandboxArgs } from './sandbox-args.js';

describe('parseSandboxArgs', () => {
  it('reads every flag, with values after a space or an equals sign', () => {
    expect(
      parseSandboxArgs(
        ['--', '--port', '4566', '--state-dir=.state/sandbox', '--region', 'eu-west-1', '--account-id', '000000000001', '--credentials', 'AKIAAAAAAAAAAAAAAAAA:s1', '--time-scale', '60'],
        '/home/me/repo',
      ),
    ).toEqual({
      port: 4566,
      stateDir: '/home/me/repo/.state/sandbox',
      region: 'eu-west-1',
      accountId: '000000000001',
      credentials: [{ accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 's1' }],
      timeScale: 60,
    });
    expect(parseSandboxArgs(['--state-dir', '/abs'], '/x')).toEqual({ stateDir: '/abs' });
  });

  it('names the flag and the rule it breaks', () => {
    const cases: Array<[string[], string]> = [
      [['--port', 'x'], '--port'],
      [['--port'], '--port'],
      [['--region', 'mars'], '--region'],
      [['--credentials', 'nocolon'], 'credentials'],
      [['--time-scale', '0'], '--time-scale'],
      [['--colour', 'red'], '--colour'],
    ];
    for (const [argv, path] of cases) {
      expect(() => parseSandboxArgs(argv, '/')).toThrow(expect.objectContaining({ code: 'InvalidInput', details: [expect.objectContaining({ path })] }));
    }
  });

  it('says a word is unknown or stray before asking for a value, and lets --help win', () => {
    expect(() => parseSandboxArgs(['--bogus'], '/')).toThrow('--bogus: unknown option (see --help)');
    expect(() => parseSandboxArgs(['--bogus', '--port', '1'], '/')).toThrow('--bogus: unknown option (see --help)');
    expect(() => parseSandboxArgs(['extra'], '/')).toThrow('extra: unexpected argument: the sandbox takes options only (see --help)');
    expect(() => parseSandboxArgs(['--port', '1', 'extra'], '/')).toThrow('extra: unexpected argument');
    expect(() => parseSandboxArgs(['--port'], '/')).toThrow('--port: needs a value');
    expect(parseSandboxArgs(['--port', 'abc', '--help'], '/')).toEqual({ help: true });
    expect(parseSandboxArgs(['--help', '--port', 'abc'], '/')).toEqual({ help: true });
  });
});
