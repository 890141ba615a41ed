/**
 * The controller SDK used the way an outside team uses it (libs/controller-sdk/README.md, "Using
 * the SDK outside this repository"): `pnpm sdk:pack` writes the tarballs, a project in a temporary
 * directory outside the workspace installs them (pnpm, from the tarballs and the local store),
 * compiles its ~30-line TypeScript controller against the packed type declarations, and runs it
 * with plain `node` against the real API on real Postgres and NATS. The object it owns must
 * become Ready, and the SDK it loaded must be the packed `dist`, not the workspace sources.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createApiClient } from '@tugboat/api-client';
import { streamNames } from '@tugboat/resource-model';
import { NATS_URL, REPO_ROOT, startApiProcess, waitUntil, type ApiProcess } from './harness/cli-processes.js';

const run = promisify(execFile);
const CONTROLLER = 'greeting-controller';
const KIND = 'Greeting';

/** What a team writes: a typed controller, its configuration from the shared environment names. */
const CONTROLLER_SOURCE = `import { controllerEnvironment, defineController, runController } from '@tugboat/controller-sdk';
import type { ResourceStatus } from '@tugboat/resource-model';

interface GreetingSpec {
  name: string;
  excited?: boolean;
}
interface GreetingStatus extends ResourceStatus {
  outputs?: { message: string };
}

const greetings = defineController<GreetingSpec, GreetingStatus>({
  name: '${CONTROLLER}',
  owns: '${KIND}',
  concurrency: 2,
  reconcile(ctx, obj) {
    const message = \`hello, \${obj.spec.name}\${obj.spec.excited === true ? '!' : '.'}\`;
    ctx.logger.info({ message }, 'greeting');
    ctx.setStatus({ outputs: { message } });
  },
});

// Which SDK this process runs (the test checks it is the installed dist).
console.log(JSON.stringify({ sdk: import.meta.resolve('@tugboat/controller-sdk') }));
await runController(greetings, controllerEnvironment());
console.log(JSON.stringify({ ready: true }));
`;

/** A clean environment: nothing of the workspace's pnpm run (CI=true, npm_config_*, NODE_OPTIONS) leaks in. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { PATH, HOME } = process.env;
  return { PATH, HOME, ...extra };
}

async function timed<T>(what: string, timings: Record<string, number>, action: () => Promise<T>): Promise<T> {
  const startedAt = Date.now();
  try {
    return await action();
  } finally {
    timings[what] = Date.now() - startedAt;
  }
}

describe('controller SDK outside the repository', () => {
  let work: string;
  let api: ApiProcess | undefined;
  let controller: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tugboat-sdk-outside-'));
  });

  afterAll(async () => {
    if (controller !== undefined && controller.exitCode === null && controller.signalCode === null) controller.kill('SIGKILL');
    if (api !== undefined) {
      const prefix = api.prefix;
      await api.close();
      const nc = await connect({ servers: NATS_URL });
      const bucket = `KV_${streamNames(prefix).eventsStream.replace(/_EVENTS$/, '')}_LEASES_${CONTROLLER}`;
      await (await jetstreamManager(nc)).streams.delete(bucket).catch(() => undefined);
      await nc.close();
    }
    await rm(work, { recursive: true, force: true });
  }, 30_000);

  it('packs, installs into a directory outside the workspace, compiles and runs a controller that makes its object Ready', async () => {
    const timings: Record<string, number> = {};
    const tarballs = join(work, 'tarballs');
    const project = join(work, 'greeting-controller');
    expect(relative(REPO_ROOT, project).startsWith('..')).toBe(true);

    // The one documented command. Starting the API meanwhile: both take a few seconds.
    const apiStarted = timed('api start', timings, () => startApiProcess({ name: 'sdkout', projects: ['outside'] }));
    await timed('pnpm sdk:pack', timings, () => run('pnpm', ['sdk:pack'], { cwd: REPO_ROOT, env: { ...process.env, SDK_PACK_DIR: tarballs } }));
    const tgz = (name: string) => `file:${join(tarballs, `tugboat-${name}-0.1.0.tgz`)}`;

    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify(
        {
          name: 'greeting-controller',
          private: true,
          type: 'module',
          scripts: { build: 'tsc -p .', start: 'node dist/controller.js' },
          dependencies: { '@tugboat/controller-sdk': tgz('controller-sdk'), '@tugboat/api-client': tgz('api-client'), '@tugboat/resource-model': tgz('resource-model') },
          devDependencies: { typescript: '5.9.3', '@types/node': '20.19.43' },
        },
        null,
        2,
      ),
    );
    // pnpm resolves the SDK's own dependencies on its sibling packages to the tarballs too.
    await writeFile(join(project, 'pnpm-workspace.yaml'), `overrides:\n  '@tugboat/api-client': '${tgz('api-client')}'\n  '@tugboat/resource-model': '${tgz('resource-model')}'\n`);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'dist', rootDir: 'src', skipLibCheck: true, types: ['node'] }, include: ['src'] }),
    );
    await writeFile(join(project, 'src/controller.ts'), CONTROLLER_SOURCE);

    await timed('pnpm install', timings, () =>
      run('pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile', '--reporter=silent'], { cwd: project, env: cleanEnv() }),
    );
    await timed('tsc', timings, () => run('pnpm', ['run', '--silent', 'build'], { cwd: project, env: cleanEnv() }));

    api = await apiStarted;
    const admin = createApiClient({ baseUrl: api.url, token: api.adminToken });
    await admin.registerKind({
      kind: KIND,
      plural: 'greetings',
      singular: 'greeting',
      shortNames: [],
      scope: 'Project',
      controller: CONTROLLER,
      schema: { type: 'object', properties: { name: { type: 'string' }, excited: { type: 'boolean' } }, required: ['name'], additionalProperties: false },
      references: [],
      secretFields: [],
    });
    // The README's way is `tug token create greeting-controller --controller greeting-controller`.
    const { token } = await admin.createToken({ name: CONTROLLER, type: 'controller', controller: CONTROLLER });

    const startedAt = Date.now();
    const child = spawn(process.execPath, ['dist/controller.js'], {
      cwd: project,
      env: cleanEnv({ TUGBOAT_URL: api.url, TUGBOAT_TOKEN: token, NATS_URL, TUGBOAT_NATS_PREFIX: api.prefix, LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    controller = child;
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));

    await waitUntil(
      () => {
        if (child.exitCode !== null) throw new Error(`the outside controller exited:\n${output}`);
        return output.includes('"ready":true');
      },
      'the outside controller running',
      20_000,
    );
    const sdk = JSON.parse(output.split('\n').find((line) => line.includes('"sdk"'))!) as { sdk: string };
    // Loaded from the project's own node_modules, built code: not the workspace, not the sources.
    expect(sdk.sdk.startsWith(`${pathToFileURL(project).href}/node_modules/`)).toBe(true);
    expect(sdk.sdk.endsWith('/@tugboat/controller-sdk/dist/index.js')).toBe(true);

    await admin.create({ kind: KIND, metadata: { name: 'world', project: 'outside' }, spec: { name: 'world', excited: true } });
    const ready = await waitUntil(
      async () => {
        const obj = await admin.get({ kind: KIND, project: 'outside', name: 'world' });
        return obj?.status.phase === 'Ready' ? obj : undefined;
      },
      `Greeting Ready (controller output:\n${output})`,
      15_000,
    );
    timings['start → Ready'] = Date.now() - startedAt;
    expect(ready.status).toMatchObject({ observedGeneration: 1, outputs: { message: 'hello, world!' } });
    expect(ready.metadata.finalizers).toEqual([CONTROLLER]);

    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    console.log(`SDK outside the repository: ${Object.entries(timings).map(([what, ms]) => `${what} ${ms} ms`).join(', ')}`);
  }, 90_000);
});
