import { startBenchInstallation } from './bench-installation.js';
import { createHttpJsonClient } from './http-json.js';
import { startCpuMeter, findNatsServerPid } from './process-cpu.js';

const spec = { type: 'object', properties: { image: { type: 'string' }, replicas: { type: 'integer' } } };
const inst = await startBenchInstallation({ apiNodeArgs: (process.env['PROBE_NODE_ARGS'] ?? '').split(' ').filter(Boolean) });
const natsPid = await findNatsServerPid(4222);
try {
  const admin = createHttpJsonClient({ port: inst.port, token: inst.adminToken, maxSockets: 16 });
  await admin.send('POST', '/v1/kinds', { scope: 'Project', kind: 'Probe', plural: 'probes', controller: 'nobody', schema: spec });
  await admin.send('POST', '/v1/projects', { metadata: { name: 'p' }, spec: {} });
  let n = 0;
  const create = () => admin.send('POST', '/v1/probes', { metadata: { name: `o-${n++}`, project: 'p' }, spec: { image: 'x', replicas: 1 } });
  const meter = async (label: string, count: number, fn: () => Promise<void>) => {
    const m = await startCpuMeter({ apiPid: inst.api.child.pid!, natsPid, applicationNames: [inst.apiApplicationName] });
    const t = Date.now();
    await fn();
    const s = await m.stop();
    const el = Date.now() - t;
    console.log(`${label.padEnd(28)} ${el} ms, api ${s.apiMs} ms (${(s.apiMs / count).toFixed(3)}/op, ${(100 * s.apiMs / el).toFixed(1)} %), pg ${(s.postgresMs / count).toFixed(3)}/op, nats ${(s.natsMs / count).toFixed(3)}/op, client ${(s.clientMs / count).toFixed(3)}/op`);
  };
  const paced = async (rate: number, count: number, op: () => Promise<unknown>) => {
    const start = Date.now(); const all: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) { const due = start + (i * 1000) / rate; const w = due - Date.now(); if (w > 0) await new Promise((r) => setTimeout(r, w)); all.push(op()); }
    await Promise.all(all);
  };
  const closed = async (workers: number, count: number, op: () => Promise<unknown>) => {
    let left = count; await Promise.all(Array.from({ length: workers }, async () => { while (left-- > 0) await op(); }));
  };
  // warm
  await closed(16, 20000, create);
  await meter('idle 5 s', 1, () => new Promise((r) => setTimeout(r, 5000)));
  await meter('create closed 16 x 5000', 5000, () => closed(16, 5000, create));
  await meter('create 100/s x 1000', 1000, () => paced(100, 1000, create));
  await meter('create 400/s x 2000', 2000, () => paced(400, 2000, create));
  await meter('get 100/s x 1000', 1000, () => paced(100, 1000, () => admin.send('GET', '/v1/probes/p/o-5')));
  await meter('get closed 16 x 5000', 5000, () => closed(16, 5000, () => admin.send('GET', '/v1/probes/p/o-5')));
  await meter('healthz 100/s x 1000', 1000, () => paced(100, 1000, () => admin.send('GET', '/healthz')));
  admin.close();
} finally {
  await inst.close({});
}
