/**
 * Scenario B: ext_authz through Envoy. wrk and vegeta send the HTTP mix to
 * Envoy (one worker, on the generator core) whose ext_authz filter asks
 * iacdash or opa-envoy-plugin (on the server core); Envoy with no ext_authz
 * filter is the ceiling. Envoy's own ext_authz counters must show no error.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { vegeta, wrk } from '../lib/http-load.mjs';
import { HTTP_MIX, httpHeaders } from '../lib/requests.mjs';
import { buildBundles, extAuthzFilter, grpcCluster, startEnvoy, startIacdash, startOpaEnvoy } from '../lib/servers.mjs';
import { verifyHttpMix } from '../lib/verify.mjs';

const CONNECTIONS = 50;

/** Starts an authz server (or none) and an Envoy in front of it; one Running for both. */
async function withEnvoy(ctx, startAuthz) {
  const authz = startAuthz ? await startAuthz() : undefined;
  let envoy;
  try {
    envoy = await startEnvoy({
      root: ctx.root,
      // Envoy shares the generator core: the server core is the ext_authz server's alone.
      core: ctx.cores.generator,
      workDir: ctx.workDir,
      httpFilters: authz ? [extAuthzFilter('authz')] : [],
      clusters: authz ? [grpcCluster('authz', authz.grpcPort)] : [],
    });
  } catch (err) {
    await authz?.stop();
    throw err;
  }
  return {
    pid: authz?.pid,
    envoyPid: envoy.pid,
    port: envoy.listenPort,
    readyMs: authz ? authz.readyMs : envoy.readyMs,
    envoy,
    stop: async () => {
      await envoy.stop();
      await authz?.stop();
    },
  };
}

/**
 * Runs `load` and adds Envoy's ext_authz counters for that run alone. An
 * ext_authz error (a timeout, a refused call) becomes a 403 that wrk would
 * count as an answer, so it is failed here and left out of the throughput.
 */
async function withEnvoyCounters(running, load) {
  const read = async () => {
    const stats = await running.envoy.stats('ext_authz');
    const get = (k) => Object.entries(stats).find(([name]) => name.endsWith(`ext_authz.${k}`))?.[1] ?? 0;
    return { ok: get('ok'), denied: get('denied'), error: get('error'), failure_mode_allowed: get('failure_mode_allowed') };
  };
  const before = await read();
  const result = await load();
  const after = await read();
  const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
  result.envoy_ext_authz = delta;
  result.failed = (result.failed ?? 0) + (result.socket_errors ?? 0) + delta.error;
  if (result.seconds) result.rps = (result.requests - delta.error) / result.seconds;
  return result;
}

export default {
  id: 'B',
  title: 'ext_authz through Envoy',
  subject: 'iacdash',
  generators: ['wrk', 'vegeta'],

  async setup(ctx) {
    const mix = HTTP_MIX.map((e) => ({ name: e.name, method: e.method, path: e.path, headers: httpHeaders(e), body: e.body, expect: e.expect }));
    const bundles = buildBundles(ctx.root, ctx.workDir);
    return { mix, bundles };
  },

  describe(ctx, state) {
    return {
      load: `wrk (1 thread, ${CONNECTIONS} connections) at saturation, vegeta (open loop) at the fixed rate; the ${state.mix.length}-request HTTP mix round-robin; Envoy 1 worker (--concurrency 1) on the generator core, ext_authz server on the server core`,
      mix: state.mix.map((r) => `${r.method} ${r.path} → ${r.expect}`),
    };
  },

  contenders: [
    {
      name: 'envoy + iacdash',
      role: 'subject',
      start: (ctx, state) =>
        withEnvoy(ctx, () => {
          const bundle = join(ctx.workDir, 'serving-b.tar.gz');
          copyFileSync(state.bundles.r1, bundle);
          return startIacdash({ root: ctx.root, core: ctx.cores.server, bundle, workDir: ctx.workDir });
        }),
    },
    { name: 'envoy + opa-envoy-plugin', role: 'peer', start: (ctx) => withEnvoy(ctx, () => startOpaEnvoy({ root: ctx.root, core: ctx.cores.server })) },
    { name: 'envoy, no ext_authz', role: 'ceiling', start: (ctx) => withEnvoy(ctx, undefined) },
  ],

  pids: (running) => ({ server: running.pid, envoy: running.envoyPid }),

  verify: (ctx, state, running, contender) => verifyHttpMix(contender.name, running.port, state.mix, { allOk: contender.role === 'ceiling' }),

  saturate: (ctx, state, running, seconds, tag) =>
    withEnvoyCounters(running, () => wrk({ bin: ctx.tools.wrk, core: ctx.cores.generator, port: running.port, mix: state.mix, seconds, connections: CONNECTIONS, workDir: ctx.workDir, tag })),

  fixed: (ctx, state, running, rps, seconds, tag) =>
    withEnvoyCounters(running, () => vegeta({ bin: ctx.tools.vegeta, core: ctx.cores.generator, port: running.port, mix: state.mix, rps, seconds, workDir: ctx.workDir, tag })),
};
