/** The sandbox's command line: `[--port N] [--state-dir DIR] [--host H] [--region R] [--account-id ID] [--credentials AKID:SECRET,…] [--time-scale X]`. */
import { isAbsolute, resolve } from 'node:path';
import { InputError } from '@tugboat/resource-model';
import { parseCredentialList, type StaticCredential } from './aws/credential-store.js';

export interface SandboxArgs {
  port?: number;
  host?: string;
  stateDir?: string;
  region?: string;
  accountId?: string;
  credentials?: StaticCredential[];
  timeScale?: number;
  help?: boolean;
}

export const SANDBOX_USAGE = `Usage: pnpm sandbox [options]

  --port N                 HTTP port (default 4566; 0 picks a free one)
  --host H                 address to listen on (default 127.0.0.1)
  --state-dir DIR          keep state in DIR/state.json; write DIR/kubeconfig and DIR/aws.env
  --region R               region written to aws.env (default us-east-1)
  --account-id ID          12-digit AWS account of the simulated cloud (default 123456789012)
  --credentials K:S[,K:S]  accept only these access keys, verifying signatures (default: any key)
  --time-scale X           simulated time runs X times faster (default 1)
`;

const SANDBOX_FLAGS: ReadonlySet<string> = new Set(['--port', '--host', '--state-dir', '--region', '--account-id', '--credentials', '--time-scale']);

/** `cwd` resolves a relative `--state-dir` (pnpm runs the script inside the package; INIT_CWD is where the user was). */
export function parseSandboxArgs(argv: string[], cwd: string): SandboxArgs {
  const args: SandboxArgs = {};
  const fail = (flag: string, rule: string, message: string) => new InputError(`${flag}: ${message}`, { details: [{ path: flag, rule }] });
  // `--help` wins wherever it stands, whatever else is wrong on the line.
  if (argv.some((arg) => arg === '--help' || arg === '-h')) return { help: true };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    const eq = arg.indexOf('=');
    const flag = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    // What the word is comes first: a stray word or an unknown flag is named as such, never as a flag missing its value.
    if (!arg.startsWith('-')) throw fail(arg, 'unexpected', 'unexpected argument: the sandbox takes options only (see --help)');
    if (!SANDBOX_FLAGS.has(flag)) throw fail(flag, 'unknown', 'unknown option (see --help)');
    let value: string | undefined = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : undefined;
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw fail(flag, 'required', 'needs a value');
      i += 1;
    }
    switch (flag) {
      case '--port': {
        const port = Number(value);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw fail(flag, 'range', `must be an integer from 0 to 65535, got '${value}'`);
        args.port = port;
        break;
      }
      case '--host':
        args.host = value;
        break;
      case '--state-dir':
        args.stateDir = isAbsolute(value) ? value : resolve(cwd, value);
        break;
      case '--region':
        if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value)) throw fail(flag, 'pattern', `must be a region such as us-east-1, got '${value}'`);
        args.region = value;
        break;
      case '--account-id':
        if (!/^\d{12}$/.test(value)) throw fail(flag, 'pattern', `must be 12 digits, got '${value}'`);
        args.accountId = value;
        break;
      case '--credentials':
        args.credentials = parseCredentialList(value);
        break;
      case '--time-scale': {
        const scale = Number(value);
        if (!Number.isFinite(scale) || scale <= 0) throw fail(flag, 'exclusiveMinimum', `must be a positive number, got '${value}'`);
        args.timeScale = scale;
        break;
      }
      default:
        throw fail(flag, 'unknown', 'unknown option (see --help)');
    }
  }
  return args;
}
