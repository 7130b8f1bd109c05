/**
 * Processes under test: spawned on a chosen core with taskset, measured
 * from /proc (CPU time, peak RSS), stopped by their own pid.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Whether `taskset` (util-linux) works here and the machine has at least two cores. */
export function pinningAvailable(cpus) {
  const r = spawnSync('taskset', ['-c', String(cpus.server), 'true'], { stdio: 'ignore' });
  return r.status === 0 && cpus.server !== cpus.generator;
}

/** Pins this process (all its threads) to `core`; children inherit it unless they are spawned with taskset. */
export function pinSelf(core) {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`taskset could not pin the harness to core ${core}`);
}

/**
 * Runs every process the bench starts from now on (and the harness itself)
 * at this niceness (negative needs root): on a machine shared with other
 * work, the contenders then lose less of their core to it, all alike.
 */
export function setNiceness(n) {
  const r = spawnSync('renice', ['-n', String(n), '-p', String(process.pid)], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`--nice ${n}: renice failed (a negative niceness needs root)`);
}

/** `cmd args` under `taskset -c core` when pinning is on (taskset execs, so the pid is the command's). Children inherit the niceness. */
export function pinned(core, cmd, args) {
  return core === undefined ? [cmd, args] : ['taskset', ['-c', String(core), cmd, ...args]];
}

/** User+system CPU seconds of a process (and its reaped children), from /proc/PID/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: it ends at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based) of the whole line, 12 and 13 here.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Peak resident set size in KiB (VmHWM), and the current one (VmRSS). */
export function memoryKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { hwm: get('VmHWM'), rss: get('VmRSS') };
}

/** The first port the kernel hands to outgoing connections (Linux's default 32768 when unreadable). */
function ephemeralStart() {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}
const LOW_PORTS = [10_000, Math.max(10_001, ephemeralStart())];

const listening = (port) => new Promise((resolve) => {
  const s = createServer();
  s.once('error', () => resolve(undefined));
  s.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(s));
});

/**
 * `count` distinct free ports on 127.0.0.1, below the ephemeral range: a
 * port from port 0 is ephemeral, and on a machine busy with other load
 * runs an outgoing connection can take it between this check and the
 * server's bind (EADDRINUSE). Falls back to port 0 after many tries.
 */
export async function freePorts(count) {
  const servers = [];
  for (let tries = 0; servers.length < count; tries++) {
    const [lo, hi] = LOW_PORTS;
    const port = tries < 200 ? lo + Math.floor(Math.random() * (hi - lo)) : 0;
    const s = await listening(port);
    if (!s) continue;
    if (servers.some((o) => o.address().port === s.address().port)) s.close();
    else servers.push(s);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** One request with no body to a loopback URL; resolves { status, body }, or { status: 0 } on a connection error. */
function httpCall(method, url, timeoutMs) {
  return new Promise((resolve) => {
    const req = request(url, { method, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** GET a loopback URL; resolves { status, body } or { status: 0 } on a connection error. */
export const httpGet = (url, timeoutMs = 2000) => httpCall('GET', url, timeoutMs);

/** POST with no body to a loopback URL; resolves { status, body } or { status: 0 } on a connection error. */
export const httpPost = (url, timeoutMs = 2000) => httpCall('POST', url, timeoutMs);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every child still running, so an interrupted run can stop them. */
export const liveChildren = new Set();

/** SIGKILLs every child still running (for SIGINT/SIGTERM of the harness). */
export function killAllChildren() {
  for (const c of liveChildren) c.proc.kill('SIGKILL');
}

/**
 * A child process under test. `pid` is the real server's pid (taskset execs
 * the command, so the pid is the same), `output()` the last 64 KiB it printed.
 */
export class Child {
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.startedAt = performance.now();
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.pid = this.proc.pid;
    this.text = '';
    const add = (chunk) => {
      this.text = (this.text + chunk.toString('utf8')).slice(-64 * 1024);
    };
    this.proc.stdout.on('data', add);
    this.proc.stderr.on('data', add);
    liveChildren.add(this);
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        liveChildren.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  output() {
    return this.text;
  }

  alive() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Polls `probe()` (true when ready) every `everyMs`; returns ms since spawn. */
  async waitReady(probe, { timeoutMs = 60_000, everyMs = 5 } = {}) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive()) throw new Error(`${this.name} exited before it was ready:\n${this.output()}`);
      if (await probe()) return performance.now() - this.startedAt;
      await sleep(everyMs);
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.output()}`);
  }

  /** SIGTERM, then SIGKILL after 10 s. */
  async stop() {
    if (!this.alive()) return;
    const kill = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    this.proc.kill('SIGTERM');
    await this.exited;
    clearTimeout(kill);
  }
}

/** Busy seconds of one core since boot (all processes), from /proc/stat; NaN when unknown. */
export function coreBusySeconds(core) {
  if (core === undefined) return NaN;
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `));
  if (!line) return NaN;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}
