import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { toolPath } from '../../../src/tools/locate.js';
import { request, type HttpResponse } from './http.js';

/** Envoy's `-l` levels. */
export type EnvoyLogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'critical' | 'off';

/** Options for {@link startEnvoy}. */
export interface StartEnvoyOptions {
  /** Bootstrap as an object (e.g. from `bootstrap()`) or YAML/JSON text. Without `admin`, one is added on 127.0.0.1:0. */
  config: object | string;
  /** Names the temp dir and error messages; defaults to `envoy`. */
  name?: string;
  /** `-l`; defaults to `warning`. */
  logLevel?: EnvoyLogLevel;
  /** `--component-log-level`, e.g. `wasm:debug,ext_authz:trace`. */
  componentLogLevel?: string;
  /** Worker threads (`--concurrency`); defaults to 1, which keeps per-worker state (wasm VMs, connections) predictable. */
  concurrency?: number;
  /** How long to wait for LIVE and bound listeners; defaults to 20 s. */
  readyTimeoutMs?: number;
  /** Extra command-line arguments. */
  args?: string[];
}

/** A running Envoy started by {@link startEnvoy}. */
export interface EnvoyProcess {
  readonly name: string;
  readonly pid: number;
  /** Admin port on 127.0.0.1 (as bound, also when the config asked for 0). */
  readonly adminPort: number;
  /** Bound port of each listener by name (as bound, also when the config asked for 0). */
  readonly listenerPorts: Readonly<Record<string, number>>;
  /** Temp dir holding the config Envoy runs (`envoy.json`); removed by `stop()`. */
  readonly dir: string;
  /** One request to the admin interface, e.g. `admin('/clusters')` or `admin('/logging?level=debug', 'POST')`. */
  admin(path: string, method?: 'GET' | 'POST'): Promise<HttpResponse>;
  /** Counters and gauges from `/stats?format=json` (histograms left out); `filter` is Envoy's regex filter. */
  stats(filter?: string): Promise<Record<string, number>>;
  /** Polls one stat until `predicate` holds and returns its value; throws with the last value after `timeoutMs` (default 10 s). */
  waitForStat(name: string, predicate: (value: number) => boolean, timeoutMs?: number): Promise<number>;
  /** Everything Envoy wrote to stdout and stderr so far (the last 16 MiB). */
  logs(): string;
  /** SIGTERM, then SIGKILL after a 5 s grace; resolves once the process is gone. Safe to call twice. */
  stop(): Promise<void>;
}

const LOG_CAP = 16 * 1024 * 1024;
const POLL_MS = 50;
const STOP_GRACE_MS = 5000;
const SETPRIV = '/usr/bin/setpriv';

// Envoys still running when this process exits are killed, so a crashed test
// file does not leave Envoys holding ports.
const live = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
let exitHookInstalled = false;
function trackForExit(child: { kill(signal: NodeJS.Signals): boolean }): void {
  live.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

let instances = 0;
/**
 * A base id no other Envoy from this or a sibling test process uses. With
 * --disable-hot-restart Envoy ignores it (it logs `base id=0, hot restart
 * version=disabled` and creates no shared memory or domain socket, so parallel
 * Envoys coexist without it); passing it keeps them apart even if hot restart
 * is ever enabled through `args`.
 */
function uniqueBaseId(): number {
  instances += 1;
  return (process.pid % 1_000_000) * 1000 + (instances % 1000);
}

function tail(text: string, lines = 80): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

function asConfigObject(config: object | string): Record<string, unknown> {
  const parsed: unknown = typeof config === 'string' ? parseYaml(config) : structuredClone(config);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    const got = Array.isArray(parsed) ? 'array' : typeof parsed;
    throw new Error(`startEnvoy: expected the bootstrap to be an object, got ${got}`);
  }
  return parsed as Record<string, unknown>;
}

function staticListenerNames(config: Record<string, unknown>): { count: number; names: string[] } {
  const resources = config['static_resources'] as { listeners?: Array<{ name?: unknown }> } | undefined;
  const listeners = resources?.listeners ?? [];
  const names = listeners.map((l) => l.name).filter((n): n is string => typeof n === 'string');
  return { count: listeners.length, names };
}

interface ListenerStatus {
  name?: string;
  local_address?: { socket_address?: { port_value?: number } };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Starts the pinned Envoy (`toolPath('envoy')`) on `options.config` with
 * `--disable-hot-restart`, and resolves once `/ready` says LIVE and every
 * static listener is bound. Rejects with Envoy's log tail if it exits early or
 * is not ready within `readyTimeoutMs`. Always `await envoy.stop()` (e.g. in
 * `t.teardown`).
 */
export async function startEnvoy(options: StartEnvoyOptions): Promise<EnvoyProcess> {
  const name = options.name ?? 'envoy';
  const config = asConfigObject(options.config);
  config['admin'] ??= { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };
  const expected = staticListenerNames(config);

  const envoyBin = toolPath('envoy');
  const dir = await mkdtemp(join(tmpdir(), `iacdash-${name.replace(/[^\w-]/g, '_')}-`));
  const configPath = join(dir, 'envoy.json');
  const adminAddressPath = join(dir, 'admin-address');
  await writeFile(configPath, JSON.stringify(config, null, 2));

  const envoyArgs = [
    '-c', configPath,
    '--disable-hot-restart',
    '--base-id', String(uniqueBaseId()),
    '-l', options.logLevel ?? 'warning',
    '--concurrency', String(options.concurrency ?? 1),
    // Envoy writes the bound admin address here, so admin port 0 works.
    '--admin-address-path', adminAddressPath,
    ...(options.componentLogLevel ? ['--component-log-level', options.componentLogLevel] : []),
    ...(options.args ?? []),
  ];
  // setpriv (util-linux) makes the kernel SIGKILL Envoy if this process dies
  // without running exit handlers, e.g. when tap kills a timed-out test file.
  const [command, args] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', envoyBin, ...envoyArgs]]
    : [envoyBin, envoyArgs];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });

  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString('utf8');
    if (log.length > LOG_CAP) log = log.slice(-LOG_CAP);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);

  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      exitInfo ??= `failed to start: ${err.message}`;
      resolve();
    });
    child.once('close', (code, signal) => {
      exitInfo ??= signal ? `was killed by ${signal}` : `exited with code ${code}`;
      live.delete(child);
      resolve();
    });
  });
  trackForExit(child);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitInfo === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const fail = async (reason: string): Promise<never> => {
    const text = log;
    await stop();
    throw new Error(
      `Envoy "${name}" ${reason}\n--- Envoy log (last lines) ---\n${tail(text) || '(empty)'}`,
    );
  };

  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let adminPort = 0;
  let listenerPorts: Record<string, number> = {};
  let waitingFor = 'the admin address file';
  for (;;) {
    if (exitInfo !== undefined) return fail(`${exitInfo} before it was ready`);
    if (Date.now() > deadline) {
      return fail(`was not ready within ${timeoutMs} ms (still waiting for ${waitingFor})`);
    }
    try {
      if (adminPort === 0) {
        // "127.0.0.1:PORT", written once the admin listener is bound.
        const address = (await readFile(adminAddressPath, 'utf8').catch(() => '')).trim();
        const port = Number(address.slice(address.lastIndexOf(':') + 1));
        if (address && port > 0) adminPort = port;
      }
      if (adminPort > 0) {
        waitingFor = 'admin /ready to say LIVE';
        const ready = await request(adminPort, { path: '/ready', timeoutMs: 2000 });
        if (ready.status === 200 && ready.body.trim() === 'LIVE') {
          waitingFor = `listeners to bind (${expected.count} configured)`;
          const res = await request(adminPort, { path: '/listeners?format=json', timeoutMs: 2000 });
          const statuses =
            (JSON.parse(res.body) as { listener_statuses?: ListenerStatus[] }).listener_statuses ?? [];
          const ports: Record<string, number> = {};
          for (const s of statuses) {
            const port = s.local_address?.socket_address?.port_value ?? 0;
            if (s.name !== undefined && port > 0) ports[s.name] = port;
          }
          const bound = Object.keys(ports).length;
          if (bound >= expected.count && expected.names.every((n) => n in ports)) {
            listenerPorts = ports;
            break;
          }
        }
      }
    } catch {
      // Admin not accepting connections yet; poll again.
    }
    await delay(POLL_MS);
  }

  const stats = async (filter?: string): Promise<Record<string, number>> => {
    const query = filter === undefined ? '' : `&filter=${encodeURIComponent(filter)}`;
    const res = await request(adminPort, { path: `/stats?format=json${query}` });
    if (res.status !== 200) throw new Error(`Envoy "${name}" /stats: HTTP ${res.status}: ${res.body}`);
    const entries = (JSON.parse(res.body) as { stats?: Array<{ name?: string; value?: unknown }> }).stats ?? [];
    const out: Record<string, number> = {};
    for (const e of entries) {
      if (typeof e.name === 'string' && typeof e.value === 'number') out[e.name] = e.value;
    }
    return out;
  };

  return {
    name,
    pid: child.pid ?? 0,
    adminPort,
    listenerPorts,
    dir,
    admin: (path, method = 'GET') => request(adminPort, { path, method }),
    stats,
    waitForStat: async (stat, predicate, waitMs = 10_000) => {
      const until = Date.now() + waitMs;
      let value: number | undefined;
      for (;;) {
        value = (await stats(`^${escapeRegex(stat)}$`))[stat];
        if (value !== undefined && predicate(value)) return value;
        if (Date.now() > until) {
          throw new Error(
            `Envoy "${name}": stat ${stat} did not reach the expected value within ${waitMs} ms ` +
              `(last: ${value ?? 'absent'})`,
          );
        }
        await delay(POLL_MS);
      }
    },
    logs: () => log,
    stop,
  };
}

/** Result of {@link validateEnvoyConfig}. */
export interface ValidationResult {
  ok: boolean;
  /** Envoy's output: `configuration '…' OK`, or the reason it rejected the config. */
  output: string;
}

/**
 * Runs `envoy --mode validate` on a bootstrap: Envoy parses and checks the
 * whole config (field names, types, extension configs) without serving.
 */
export async function validateEnvoyConfig(config: object | string): Promise<ValidationResult> {
  const dir = await mkdtemp(join(tmpdir(), 'iacdash-validate-'));
  try {
    const configPath = join(dir, 'envoy.json');
    await writeFile(configPath, JSON.stringify(asConfigObject(config), null, 2));
    const child = spawn(
      toolPath('envoy'),
      ['--mode', 'validate', '-c', configPath, '--disable-hot-restart', '-l', 'error'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    return { ok: code === 0, output: output.trim() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
