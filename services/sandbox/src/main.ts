// Process entry: reads the command line, wires the two halves, starts, and stops on a signal.
import pino from 'pino';
import { parseSandboxArgs, SANDBOX_USAGE, type SandboxArgs } from './sandbox-args.js';
import { STANDIN_HTTP_REPOSITORIES, STANDIN_OCI_NAMESPACES } from './charts/standin-charts.js';
import { createSandboxServer } from './sandbox-server.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });

let args: SandboxArgs;
try {
  // pnpm runs the script inside the package; INIT_CWD is where `pnpm sandbox` was typed.
  args = parseSandboxArgs(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd());
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n\n${SANDBOX_USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(SANDBOX_USAGE);
  process.exit(0);
}

const { help: _help, ...options } = args;
const sandbox = createSandboxServer({ ...options, logger });
const endpoints = await sandbox.start().catch((error: unknown) => {
  // One line that says what to do; the stack only in the debug log.
  const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
  logger.debug({ err: error }, 'sandbox could not start');
  const hint = inUse ? ` (port ${options.port ?? 4566} is taken: stop what holds it, or pass --port N, or --port 0 for a free one)` : '';
  process.stderr.write(`sandbox could not start: ${(error as Error).message}${hint}\n`);
  process.exit(1);
});
logger.info({ endpoints }, 'sandbox listening');
process.stdout.write(
  [
    '',
    `Tugboat sandbox on ${endpoints.url}`,
    `  AWS (EKS, STS):    ${endpoints.aws}   (AWS_ENDPOINT_URL)`,
    ...Object.entries(endpoints.kube).map(([name, url]) => `  Kubernetes ${name.padEnd(7)} ${url}`),
    `  control API:       ${endpoints.control}`,
    ...STANDIN_HTTP_REPOSITORIES.map((repo) => `  chart repository:  ${endpoints.url}/charts/${repo.name}   (for ${repo.realUrl})`),
    ...STANDIN_OCI_NAMESPACES.map((ns) => `  chart registry:    oci://${new URL(endpoints.url).host}/${ns.path}   (for ${ns.realUrl}; --plain-http)`),
    ...(endpoints.kubeconfig ? [`  kubeconfig:        ${endpoints.kubeconfig}`] : []),
    ...(endpoints.awsEnv ? [`  aws.env:           ${endpoints.awsEnv}`] : []),
    ...(endpoints.stateFile ? [`  state:             ${endpoints.stateFile}`] : []),
    '',
    '',
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'sandbox stopping');
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'sandbox stopped with an error');
        process.exit(1);
      },
    );
  });
}
