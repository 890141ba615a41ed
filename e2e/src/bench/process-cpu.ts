/**
 * CPU time spent by the processes of one measurement: a benchmark's own process, the API process,
 * the Postgres backends serving them (found by `application_name`, which `pg` takes from
 * `PGAPPNAME`), and the NATS server (found by its command name; it is shared with whatever else
 * uses it at the time, so its figure is an upper bound for the measured work). On a machine shared with other work, CPU per operation is the steadier figure:
 * wall-clock throughput moves with whatever else runs, the work one operation costs does not.
 */
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';
import { DATABASE_URL } from '../harness/cli-processes.js';

/** Linux reports process times in clock ticks of 10 ms (`getconf CLK_TCK` = 100). */
const MS_PER_TICK = 10;

async function processCpuMs(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the command (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
}

/** The `nats-server` process listening on `port` when that can be told, else the only one; `undefined` when none is visible. */
export async function findNatsServerPid(port: number): Promise<number | undefined> {
  const candidates: Array<{ pid: number; args: string }> = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'nats-server') continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
    candidates.push({ pid: Number(entry), args });
  }
  const onPort = candidates.filter((c) => new RegExp(`(-p|--port)[ =]${port}\\b`).test(c.args));
  if (onPort.length === 1) return onPort[0]!.pid;
  return candidates.length === 1 ? candidates[0]!.pid : undefined;
}

async function backendPids(applicationName: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'tugboat-bench-probe' });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [applicationName]);
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

export interface CpuSplit {
  /** The benchmark process itself (the load generator). */
  clientMs: number;
  /** The API process, when there is one. */
  apiMs: number;
  /** Postgres backends with the given application names. */
  postgresMs: number;
  /** The NATS server (0 when it was not found). */
  natsMs: number;
  /** Each of the other processes named in `others`. */
  othersMs: Record<string, number>;
}

export interface CpuMeter {
  /** CPU spent since the meter was started. Backends that exit in between are not counted. */
  stop(): Promise<CpuSplit>;
}

export async function startCpuMeter(options: { apiPid?: number; natsPid?: number; applicationNames: string[]; others?: Record<string, number | undefined> }): Promise<CpuMeter> {
  const snapshot = async () => {
    const pids = (await Promise.all(options.applicationNames.map(backendPids))).flat();
    const backends = new Map<number, number>();
    for (const pid of pids) {
      const ms = await processCpuMs(pid);
      if (ms !== undefined) backends.set(pid, ms);
    }
    const api = options.apiPid === undefined ? 0 : ((await processCpuMs(options.apiPid)) ?? 0);
    const nats = options.natsPid === undefined ? 0 : ((await processCpuMs(options.natsPid)) ?? 0);
    const others: Record<string, number> = {};
    for (const [name, pid] of Object.entries(options.others ?? {})) others[name] = pid === undefined ? 0 : ((await processCpuMs(pid)) ?? 0);
    const usage = process.cpuUsage();
    return { backends, api, nats, others, clientMs: (usage.user + usage.system) / 1000 };
  };
  const before = await snapshot();
  return {
    async stop() {
      const after = await snapshot();
      let postgresMs = 0;
      for (const [pid, ms] of after.backends) postgresMs += ms - (before.backends.get(pid) ?? 0);
      const othersMs = Object.fromEntries(Object.keys(after.others).map((name) => [name, after.others[name]! - (before.others[name] ?? 0)]));
      return { clientMs: after.clientMs - before.clientMs, apiMs: after.api - before.api, postgresMs, natsMs: after.nats - before.nats, othersMs };
    },
  };
}
