import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './find-executable.js';
import { freePort } from './free-port.js';
import { createLocalStack } from './local-stack.js';

describe('createLocalStack', () => {
  it('says how to install nats-server when it is missing, before starting anything', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'tug-up-'));
    try {
      const stack = createLocalStack({
        repoRoot: stateDir,
        stateDir,
        apiPort: 7070,
        env: { PATH: '' },
        executableDirs: [],
        output: { write: () => {} },
        fromSource: true,
      });
      await expect(stack.start()).rejects.toThrow('nats-server is not installed: install it (`apt-get install nats-server`');
      expect(stack.processes).toHaveLength(0);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

/**
 * One stand-in service for every role: answers its readiness path, the token routes the stack
 * uses for controllers, prints the environment it was given, and exits 0 on SIGTERM.
 */
const FAKE_SERVICE = `
import { createServer } from 'node:http';
const role = process.argv[2];
const portFlag = process.argv.indexOf('--port');
const port = Number(portFlag > 0 ? process.argv[portFlag + 1] : process.env.PORT);
const ready = role === 'sandbox' ? '/_sandbox/healthz' : '/readyz';
createServer((req, res) => {
  if (req.url === ready) return res.end('ok');
  if (role === 'sandbox' && req.url === '/_sandbox/helm-settings') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ TUGBOAT_HELM_MIRRORS: 'https://charts.example=http://' + req.headers.host + '/charts/example', TUGBOAT_HELM_PLAIN_HTTP_HOSTS: req.headers.host }));
  }
  if (req.url === '/v1/tokens' && req.method === 'POST') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    return req.on('end', () => {
      const input = JSON.parse(body);
      // As after a lost token file: a token of the controller's own name exists already.
      if (input.name === input.controller) {
        res.writeHead(409, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { code: 'Conflict', message: 'a token named "' + input.name + '" already exists', details: [{ path: 'name', rule: 'unique' }] } }));
      }
      console.log('token name ' + input.name);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'token-for-' + input.controller, identity: { name: input.name, type: 'controller', controller: input.controller } }));
    });
  }
  res.writeHead(404).end();
}).listen(port, '127.0.0.1', () => {
  console.log(role + ' env ' + JSON.stringify({ TOKEN: process.env.TUGBOAT_TOKEN, ADMIN: process.env.TUGBOAT_ADMIN_TOKEN, DB: process.env.DATABASE_URL ?? null, NATS: process.env.NATS_URL, HELM: process.env.TUGBOAT_HELM_BINARY ?? null, MIRRORS: process.env.TUGBOAT_HELM_MIRRORS ?? null, PLAIN: process.env.TUGBOAT_HELM_PLAIN_HTTP_HOSTS ?? null, HOST: process.env.HOST ?? null }));
});
process.on('SIGTERM', () => { console.log(role + ' bye'); process.exit(0); });
`;

async function writeStandInServices(root: string): Promise<void> {
  for (const role of ['sandbox', 'api', 'demo-controller']) {
    await mkdir(join(root, 'services', role, 'dist'), { recursive: true });
    await writeFile(join(root, 'services', role, 'dist', 'main.js'), `process.argv.splice(2, 0, '${role}');\n${FAKE_SERVICE}`);
  }
  await writeFile(join(root, 'services', 'package.json'), '{"type":"module"}');
}

/** A bin directory holding `nats-server` (linked from this machine's) and, if asked, a `helm`. */
async function binDir(root: string, withHelm: boolean): Promise<string> {
  const dir = join(root, 'bin');
  await mkdir(dir, { recursive: true });
  const natsServer = await findExecutable('nats-server', process.env);
  if (natsServer === undefined) throw new Error('these tests need nats-server');
  await symlink(natsServer, join(dir, 'nats-server'));
  if (withHelm) {
    await writeFile(join(dir, 'helm'), '#!/bin/sh\nexit 0\n');
    await chmod(join(dir, 'helm'), 0o755);
  }
  return dir;
}

describe('a local stack of stand-in services', () => {
  it('starts NATS, the sandbox, the API and every discovered controller, then stops them in reverse', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tug-up-stack-'));
    const lines: string[] = [];
    try {
      await writeStandInServices(root);
      const bin = await binDir(root, true);
      const sandboxPort = await freePort();
      const stack = createLocalStack({
        repoRoot: root,
        stateDir: join(root, 'state'),
        apiPort: await freePort(),
        sandboxPort,
        env: { ...process.env, PATH: bin, DATABASE_URL: 'postgres://ignored' },
        executableDirs: [],
        output: { write: (text: string) => void lines.push(...text.split('\n').filter(Boolean)) },
        fromSource: false,
      });
      const urls = await stack.start();
      expect(urls.nats).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      expect(stack.controllers).toEqual(['demo-controller']);
      expect(stack.processes.map((child) => child.name)).toEqual(['nats', 'sandbox', 'api', 'demo-controller']);
      await waitFor(() => lines.some((line) => line.includes('demo-controller env')));
      const envOf = (role: string) => JSON.parse(lines.find((line) => line.includes(`| ${role} env `))!.split(' env ')[1]!);
      const adminToken = (await readFile(join(root, 'state', 'admin-token'), 'utf8')).trim();
      // The API listens on loopback only: it holds a platform admin token.
      expect(envOf('api')).toEqual({ ADMIN: adminToken, DB: null, NATS: urls.nats, HELM: null, MIRRORS: null, PLAIN: null, HOST: '127.0.0.1' });
      expect(envOf('demo-controller')).toMatchObject({ TOKEN: 'token-for-demo-controller', DB: null, NATS: urls.nats });
      // The chart settings are the sandbox's own answer; helm is the one found on PATH.
      expect(envOf('demo-controller')).toMatchObject({
        HELM: join(bin, 'helm'),
        MIRRORS: `https://charts.example=http://127.0.0.1:${sandboxPort}/charts/example`,
        PLAIN: `127.0.0.1:${sandboxPort}`,
      });
      expect(lines.some((line) => line.includes('helm is not installed'))).toBe(false);
      expect((await readFile(join(root, 'state', 'tokens', 'demo-controller'), 'utf8')).trim()).toBe('token-for-demo-controller');
      // Token names are unique: the controller's own name was taken, so the new one has a suffix.
      expect(lines.filter((line) => line.includes('token name '))).toEqual([expect.stringMatching(/\| token name demo-controller-[0-9a-f]{8}$/)]);

      await stack.stop('SIGTERM');
      const stops = lines.filter((line) => line.includes('| stopping '));
      expect(stops.map((line) => line.split('| stopping ')[1])).toEqual(['demo-controller', 'api', 'nats, sandbox']);
      expect(stack.processes.every((child) => child.hasExited)).toBe(true);
      expect(lines.filter((line) => line.endsWith('exited with code 0'))).toHaveLength(4);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('a local stack without helm', () => {
  it('warns in one line at start and still starts every controller, with the chart mirrors but no helm path', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tug-up-nohelm-'));
    const lines: string[] = [];
    try {
      await writeStandInServices(root);
      const stack = createLocalStack({
        repoRoot: root,
        stateDir: join(root, 'state'),
        apiPort: await freePort(),
        sandboxPort: await freePort(),
        env: { ...process.env, PATH: await binDir(root, false) },
        executableDirs: [],
        output: { write: (text: string) => void lines.push(...text.split('\n').filter(Boolean)) },
        fromSource: false,
      });
      try {
        await stack.start();
        const warnings = lines.filter((line) => line.includes('helm is not installed'));
        expect(warnings).toEqual([
          'tug     | warning: helm is not installed: Helm-chart workloads and exposed apps will report ChartHelmMissing until it is (install helm 3, or set TUGBOAT_HELM_BINARY)',
        ]);
        // The warning comes before anything starts.
        expect(lines.indexOf(warnings[0]!)).toBeLessThan(lines.findIndex((line) => line.includes('started nats')));
        await waitFor(() => lines.some((line) => line.includes('demo-controller env')));
        const env = JSON.parse(lines.find((line) => line.includes('| demo-controller env '))!.split(' env ')[1]!);
        expect(env).toMatchObject({ HELM: null, MIRRORS: expect.stringContaining('/charts/example') });
      } finally {
        await stack.stop('SIGTERM');
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('warns when TUGBOAT_HELM_BINARY names no executable', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tug-up-badhelm-'));
    const lines: string[] = [];
    try {
      await writeStandInServices(root);
      const stack = createLocalStack({
        repoRoot: root,
        stateDir: join(root, 'state'),
        apiPort: await freePort(),
        sandboxPort: await freePort(),
        env: { ...process.env, PATH: await binDir(root, true), TUGBOAT_HELM_BINARY: join(root, 'no-such-helm') },
        executableDirs: [],
        output: { write: (text: string) => void lines.push(...text.split('\n').filter(Boolean)) },
        fromSource: false,
      });
      try {
        await stack.start();
        expect(lines.filter((line) => line.includes('warning:'))).toEqual([
          `tug     | warning: TUGBOAT_HELM_BINARY=${join(root, 'no-such-helm')} is not an executable: Helm-chart workloads and exposed apps will report ChartHelmMissing`,
        ]);
      } finally {
        await stack.stop('SIGTERM');
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
