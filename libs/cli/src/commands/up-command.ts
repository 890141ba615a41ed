import { relative } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext, SignalSource } from '../command-context.js';
import { DEFAULT_STATE_DIR, resolveStateDir } from '../client-settings.js';
import { EXIT_FAILED, EXIT_OK } from '../describe-error.js';
import { parseDuration } from '../parse-duration.js';
import { UsageError } from '../usage-error.js';
import { findRepoRoot } from '../up/discover-services.js';
import { createLocalStack, DEFAULT_SANDBOX_PORT, DEFAULT_SANDBOX_TIME_SCALE, type LocalStackUrls } from '../up/local-stack.js';
import { describeExit } from '../up/managed-process.js';

interface UpFlags {
  port: string;
  natsPort?: string;
  sandboxPort: string;
  sandboxTimeScale: string;
  readyTimeout: string;
}

export function registerUpCommand(program: Command, context: CommandContext): void {
  program
    .command('up')
    .description('run Tugboat locally: NATS, the sandbox, the API on embedded Postgres, and every controller')
    .option('--port <port>', 'API port', '7070')
    .option('--nats-port <port>', 'NATS port (default: a free one)')
    .option('--sandbox-port <port>', 'sandbox port (the AWS endpoint examples/ name)', String(DEFAULT_SANDBOX_PORT))
    .option('--sandbox-time-scale <factor>', 'how much faster than real time the sandbox simulates AWS and Kubernetes (an EKS cluster takes ~10 simulated minutes)', String(DEFAULT_SANDBOX_TIME_SCALE))
    .option('--ready-timeout <duration>', 'how long each process may take to become ready, e.g. 90s, 3m', '120s')
    .addHelpText(
      'after',
      `
Each process runs as a child with its output prefixed by its name; the state
(embedded database, NATS store, sandbox, tokens) lives in --state-dir (default
${DEFAULT_STATE_DIR}). The admin token is generated once into STATE_DIR/admin-token
(mode 0600), where the other tug commands find it. Ctrl-C (or SIGTERM) stops the
controllers, then the API, then the sandbox and NATS.

Needs nats-server on the machine (apt-get install nats-server), and helm 3 for
Helm-chart workloads and exposed apps: their charts come from the sandbox, which
stands in for the real chart repositories (without helm, the rest still runs).`,
    )
    .action(async (flags: UpFlags, command: Command) => {
      const signals: SignalSource = context.io.processSignals ?? process;
      const stateDir = resolveStateDir(context.flags(command), context.io.env, context.io.cwd);
      const stack = createLocalStack({
        repoRoot: await findRepoRoot(),
        stateDir,
        apiPort: parsePort(flags.port, '--port'),
        ...(flags.natsPort === undefined ? {} : { natsPort: parsePort(flags.natsPort, '--nats-port') }),
        sandboxPort: parsePort(flags.sandboxPort, '--sandbox-port'),
        sandboxTimeScale: parseTimeScale(flags.sandboxTimeScale),
        env: context.io.env,
        output: { write: (text: string) => context.out(text) },
        fromSource: import.meta.url.endsWith('.ts'),
        readyTimeoutMs: parseDuration(flags.readyTimeout, '--ready-timeout'),
        ...(context.io.fetch ? { fetch: context.io.fetch } : {}),
      });

      let stopRequested: NodeJS.Signals | undefined;
      let onRequest: (signal: NodeJS.Signals) => void = () => {};
      const requested = new Promise<NodeJS.Signals>((resolve) => {
        onRequest = resolve;
      });
      const listener = (signal: NodeJS.Signals) => () => {
        // A terminal's Ctrl-C can arrive twice (directly and relayed by a wrapper such as tsx).
        if (stopRequested !== undefined) return;
        stopRequested = signal;
        context.out(`\nstopping (${signal})…\n`);
        onRequest(signal);
      };
      const onInt = listener('SIGINT');
      const onTerm = listener('SIGTERM');
      const onExit = () => stack.killNow();
      signals.on('SIGINT', onInt);
      signals.on('SIGTERM', onTerm);
      signals.on('exit', onExit);

      try {
        let urls: LocalStackUrls;
        try {
          urls = await Promise.race([stack.start(), requested.then(() => undefined)]).then((value) => {
            if (value === undefined) throw new Error('stopped before it was ready');
            return value;
          });
        } catch (error) {
          await stack.stop(stopRequested ?? 'SIGTERM');
          if (stopRequested !== undefined) {
            context.exitCode = EXIT_OK;
            return;
          }
          throw error;
        }
        context.out(usageBanner(urls, stateDir, context.io.cwd, stack.controllers, flags.port));
        const outcome = await Promise.race([
          requested.then((signal) => ({ type: 'signal' as const, signal })),
          stack.unexpectedExit.then((exited) => ({ type: 'exit' as const, ...exited })),
        ]);
        if (outcome.type === 'signal') {
          await stack.stop(outcome.signal);
          context.exitCode = EXIT_OK;
        } else {
          context.err(`error: ${outcome.process.name} ${describeExit(outcome.exit)}; stopping the others\n`);
          await stack.stop('SIGTERM');
          context.exitCode = EXIT_FAILED;
        }
      } finally {
        signals.off('SIGINT', onInt);
        signals.off('SIGTERM', onTerm);
        signals.off('exit', onExit);
      }
    });
}

function usageBanner(urls: LocalStackUrls, stateDir: string, cwd: string, controllers: readonly string[], port: string): string {
  const fromCwd = relative(cwd, stateDir) || '.';
  const shownState = fromCwd.startsWith('..') ? stateDir : fromCwd;
  const defaults = port === '7070' && shownState === DEFAULT_STATE_DIR;
  const env = defaults ? '' : `TUGBOAT_URL=${urls.api} TUGBOAT_STATE_DIR=${shownState} `;
  return `
Tugboat is up.
  API          ${urls.api}   (admin token in ${shownState}/admin-token)
  sandbox      ${urls.sandbox}
  NATS         ${urls.nats}   (monitoring ${urls.natsMonitor})
  controllers  ${controllers.length > 0 ? controllers.join(', ') : 'none yet (each services/*-controller is started when it exists)'}

In another terminal, in this directory:
  ${env}pnpm tug apply -f examples/hello/
  ${env}pnpm tug get workloadinstances -p demo
Elsewhere, set TUGBOAT_URL=${urls.api} and TUGBOAT_TOKEN to the token in ${stateDir}/admin-token.

Press Ctrl-C to stop.
`;
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${flag}: "${value}" is not a port (1-65535)`, [{ path: flag, rule: 'port' }]);
  }
  return port;
}

function parseTimeScale(value: string): number {
  const scale = Number(value);
  if (!Number.isFinite(scale) || scale < 1 || scale > 10_000) {
    throw new UsageError(`--sandbox-time-scale: "${value}" is not a factor between 1 (real time) and 10000`, [{ path: '--sandbox-time-scale', rule: 'range' }]);
  }
  return scale;
}
