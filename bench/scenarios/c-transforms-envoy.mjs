/**
 * Scenario C: Lua transforms through Envoy. The same shipped script,
 * lua/request-transformation.lua, runs in Envoy's own Lua filter (the
 * in-process limit) and through ext_proc to iacdash: on GETs, where it only
 * touches headers (ext_proc sends request headers alone), and on JSON
 * POST/PUT/PATCH, where it rewrites the body (ext_proc in BUFFERED mode; the
 * Lua filter buffers on handle:body()). Envoy with no filter is the ceiling,
 * and ext_proc to the bare grpc-js server (CONTINUE, no script, the same
 * filter config) the ceiling of the ext_proc architecture itself.
 * Every contender proxies to the same echo upstream, so the check before
 * load sees the request exactly as the upstream got it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { startEnvoyStack, withEnvoyCounters } from '../lib/envoy-stack.mjs';
import { extProcFilter, luaFilter } from '../lib/filters.mjs';
import { vegeta, wrk } from '../lib/http-load.mjs';
import { sleep } from '../lib/proc.mjs';
import { startBareGrpc, startIacdash } from '../lib/servers.mjs';
import { httpExchange, jsonOrUndefined } from '../lib/verify.mjs';

const CONNECTIONS = 50;
/** A smoke run's second of load must see answers even on a starved CI core: a short queue. */
const connections = (ctx) => (ctx.opts.smoke ? 4 : CONNECTIONS);
const SCRIPT = 'request-transformation';

/** Names in the results; the first two are the target's pair. */
export const C = {
  extproc: 'ext_proc → iacdash',
  native: 'native Lua',
  bareExtproc: 'ext_proc → bare grpc-js',
  extprocBody: 'ext_proc → iacdash, body',
  nativeBody: 'native Lua, body',
  none: 'no filter',
};

const UA = { 'user-agent': 'iacdash-bench' };

/**
 * Header-only requests: the script trims and lowercases accept and
 * content-type, drops x-user-id and rewrites /api/v1/ to /v1/. `upstream`
 * is what the upstream must see after the transform.
 */
const HEADER_MIX = [
  { name: 'GET orders', method: 'GET', path: '/api/v1/orders?limit=10', headers: { ...UA, accept: ' Application/JSON ', 'x-user-id': 'spoofed' }, upstream: { path: '/v1/orders?limit=10', accept: 'application/json' } },
  { name: 'GET user', method: 'GET', path: '/api/v1/users/42', headers: { ...UA, accept: '*/*', 'x-trace': ' t-42 ' }, upstream: { path: '/v1/users/42', accept: '*/*' } },
  { name: 'GET v2 team', method: 'GET', path: '/api/v2/teams/042/projects?page=2', headers: { ...UA, accept: 'TEXT/HTML', 'x-user-id': 'spoofed' }, upstream: { path: '/api/v2/teams/042/projects?page=2', accept: 'text/html' } },
  { name: 'DELETE order', method: 'DELETE', path: '/api/v1/orders/17', headers: { ...UA, accept: 'application/json' }, upstream: { path: '/v1/orders/17', accept: 'application/json' } },
];

const items = Array.from({ length: 12 }, (_, i) => ({ sku: `sku-${1000 + i}`, quantity: (i % 4) + 1, note: i % 3 === 0 ? 'gift wrap' : '' }));
/** JSON bodies the script decodes, stamps with request_id and re-encodes (sorted keys). */
const BODY_MIX = [
  { name: 'POST order', method: 'POST', path: '/api/v1/orders', body: { item: 'widget', quantity: 3, tags: ['blue', 'large'] }, upstream: { path: '/v1/orders' } },
  { name: 'PUT order, 12 lines', method: 'PUT', path: '/api/v1/orders/17', body: { customer: { id: 42, name: 'Zoë Example' }, lines: items, currency: 'EUR' }, upstream: { path: '/v1/orders/17' } },
  { name: 'PATCH order', method: 'PATCH', path: '/api/v1/orders/18', body: { quantity: 5 }, upstream: { path: '/v1/orders/18' } },
].map((r) => ({ ...r, headers: { ...UA, 'content-type': 'Application/JSON', accept: 'application/json', 'x-user-id': 'spoofed' }, body: JSON.stringify(r.body), sent: r.body }));

const one = (v) => (Array.isArray(v) ? v.join(',') : v);

/**
 * Sends each request once and checks what the echo upstream received.
 * `transformed` false (the ceiling) expects the request as sent. Returns
 * what was seen, per request, as evidence for the results.
 */
async function verifyEcho(name, port, mix, transformed) {
  const seen = [];
  for (const r of mix) {
    const res = await httpExchange(port, r);
    const echo = jsonOrUndefined(res.body);
    if (res.status !== 200 || !echo) throw new Error(`${name}: "${r.name}" answered HTTP ${res.status} through Envoy, expected 200 and the echo:\n${res.body.slice(0, 500)}`);
    const got = { request: `${r.method} ${r.path}`, status: res.status, upstream_path: echo.path, upstream_accept: one(echo.headers.accept), upstream_x_user_id: one(echo.headers['x-user-id']) ?? null };
    if (r.sent) {
      const body = jsonOrUndefined(echo.body);
      got.upstream_body_request_id = body?.request_id ?? null;
      got.upstream_x_request_id = one(echo.headers['x-request-id']) ?? null;
      got.upstream_body_keeps_fields = Object.entries(r.sent).every(([k, v]) => isDeepStrictEqual(body?.[k], v));
    }
    const want = transformed
      ? { upstream_path: r.upstream.path, upstream_x_user_id: null, ...(r.upstream.accept ? { upstream_accept: r.upstream.accept } : {}) }
      // HTTP parsers drop the whitespace around a value (RFC 9110 5.5): Envoy does, with or without a script.
      : { upstream_path: r.path, upstream_accept: r.headers.accept.trim(), upstream_x_user_id: r.headers['x-user-id'] ?? null };
    for (const [k, v] of Object.entries(want)) {
      if (got[k] !== v) throw new Error(`${name}: "${r.name}": the upstream saw ${k} = ${JSON.stringify(got[k])}, expected ${JSON.stringify(v)}`);
    }
    if (r.sent && transformed && (!got.upstream_body_request_id || got.upstream_body_request_id !== got.upstream_x_request_id || !got.upstream_body_keeps_fields)) {
      throw new Error(`${name}: "${r.name}": the body was not rewritten as the script says (request_id ${JSON.stringify(got.upstream_body_request_id)}, x-request-id ${JSON.stringify(got.upstream_x_request_id)}): ${echo.body.slice(0, 300)}`);
    }
    seen.push(got);
  }
  return seen;
}

function sidecar(ctx, state, file = state.scriptFile, name = 'iacdash') {
  return () => startIacdash({ root: ctx.root, core: ctx.cores.server, scripts: [{ name: SCRIPT, file }], workDir: ctx.workDir, name });
}

/** The script plus one header naming its revision, so a probe through Envoy sees which one ran. */
function revisionOf(source, revision) {
  return `${source}\nlocal bench_on_request = envoy_on_request\nfunction envoy_on_request(handle)\n  handle:headers():replace("x-bench-script", "${revision}")\n  return bench_on_request(handle)\nend\n`;
}

/** The revision the upstream saw on a probe request, or undefined. */
async function revisionSeen(port) {
  const res = await httpExchange(port, { method: 'GET', path: '/api/v1/probe', headers: UA });
  return jsonOrUndefined(res.body)?.headers?.['x-bench-script'];
}

/** The bare grpc-js server as the ext_proc sidecar: every phase CONTINUE, nothing run. */
const bareSidecar = (ctx) => () => startBareGrpc({ core: ctx.cores.server, name: 'bare grpc-js (ext_proc)' });

/** `startSidecar(ctx, state)` returns the sidecar's starter, or is undefined for Envoy alone. */
function contender(name, role, mix, filters, startSidecar) {
  return {
    name,
    role,
    start: async (ctx, state) => ({
      ...(await startEnvoyStack(ctx, { httpFilters: (cluster) => filters(state, cluster), startSidecar: startSidecar?.(ctx, state) })),
      mix: state[mix],
    }),
  };
}

export default {
  id: 'C',
  title: 'Lua transforms through Envoy',
  subject: 'iacdash',
  generators: ['wrk', 'vegeta'],
  // The native Lua filter runs inside Envoy: compare sidecar + Envoy with Envoy alone.
  basis: 'server+envoy',
  comparisons: [
    { of: C.extproc, against: [C.native, C.bareExtproc, C.none] },
    { of: C.extprocBody, against: [C.nativeBody, C.none] },
  ],
  targets: [
    { of: C.extproc, against: C.native, metric: 'throughput', min: 0.7 },
    { of: C.extproc, against: C.native, metric: 'capacity', min: 0.7 },
  ],

  setup(ctx) {
    const scriptFile = join(ctx.root, 'lua', `${SCRIPT}.lua`);
    return { scriptFile, source: readFileSync(scriptFile, 'utf8'), headerMix: HEADER_MIX, bodyMix: BODY_MIX };
  },

  describe(ctx, state) {
    return {
      load: `wrk (1 thread, ${connections(ctx)} connections) at saturation, vegeta (open loop) at the fixed rate; \`lua/${SCRIPT}.lua\` on ${state.headerMix.length} header-only requests (ext_proc: request headers only) or ${state.bodyMix.length} JSON body rewrites (ext_proc: request body BUFFERED), round-robin; ext_proc → bare grpc-js has the header-only filter of ext_proc → iacdash, its server answering every message CONTINUE without decoding it; Envoy 1 worker and the ext_proc server share the server core, wrk, vegeta and the echo upstream the generator core`,
      mix: [...state.headerMix, ...state.bodyMix].map((r) => `${r.method} ${r.path} → upstream ${r.upstream.path}${r.sent ? ' with request_id in the body' : ''}`),
      // Envoy ends every ext_proc stream with RST_STREAM; nghttp2 (under grpc-js) allows 1000 then 33/s before GOAWAY.
      failures: "Envoy 5xx: ext_proc gRPC errors (without graceful close, streams refused once Envoy's resets pass Node's HTTP/2 limit: bench/README.md), its 5 s message timeout, upstream resets",
    };
  },

  contenders: [
    contender(C.extproc, 'subject', 'headerMix', (state, cluster) => [extProcFilter(cluster)], sidecar),
    contender(C.native, 'peer', 'headerMix', (state) => [luaFilter(state.source)]),
    // The same filter as C.extproc: only the server differs.
    contender(C.bareExtproc, 'ceiling', 'headerMix', (state, cluster) => [extProcFilter(cluster)], bareSidecar),
    contender(C.extprocBody, 'subject', 'bodyMix', (state, cluster) => [extProcFilter(cluster, { requestBody: 'BUFFERED' })], sidecar),
    contender(C.nativeBody, 'peer', 'bodyMix', (state) => [luaFilter(state.source)]),
    contender(C.none, 'ceiling', 'headerMix', () => []),
  ],

  /**
   * Script hot swap under load: while vegeta sends the header mix at the
   * fixed rate through Envoy to a fresh iacdash, the script file is replaced
   * atomically (r1 → r2 → r1, each the script plus a header naming it); the
   * time until a probe's echo shows the new revision, and every failed
   * request, are recorded.
   */
  swapWhat: 'Lua script',
  async extras(ctx, state, rps) {
    const file = join(ctx.workDir, 'swap.lua');
    writeFileSync(file, revisionOf(state.source, 'r1'));
    const running = await startEnvoyStack(ctx, { httpFilters: (cluster) => [extProcFilter(cluster)], startSidecar: sidecar(ctx, state, file, 'iacdash (script swap)') });
    try {
      const seconds = ctx.opts.swapSeconds;
      const load = withEnvoyCounters(running, () => vegeta({ bin: ctx.tools.vegeta, core: ctx.cores.generator, port: running.port, mix: state.headerMix, rps, seconds, workDir: ctx.workDir, tag: 'C-swap' }), { saturation: false });
      const swaps = [];
      await sleep((seconds * 1000) / 4);
      for (const to of ['r2', 'r1']) {
        const t0 = performance.now();
        writeFileSync(`${file}.swap`, revisionOf(state.source, to));
        renameSync(`${file}.swap`, file);
        let seen;
        while ((seen = await revisionSeen(running.port)) !== to) {
          if (performance.now() - t0 > 30_000) throw new Error(`iacdash did not run script ${to} within 30 s (still ${seen})`);
          await sleep(5);
        }
        swaps.push(performance.now() - t0);
        await sleep((seconds * 1000) / 4);
      }
      const result = await load;
      await verifyEcho('iacdash after the script swaps', running.port, state.headerMix, true);
      ctx.log(`  script hot swap: ${swaps.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} to the new revision; ${result.failed} failed of ${result.requests} (max latency ${result.max_us} µs)`);
      return {
        hot_swap_ms: Math.max(...swaps),
        hot_swap_ms_each: swaps,
        hot_swap_requests: result.requests,
        hot_swap_non_ok: result.failed,
        hot_swap_p999_us: result.p999_us,
        hot_swap_max_us: result.max_us,
      };
    } finally {
      await running.stop();
    }
  },

  pids: (running) => ({ server: running.pid, envoy: running.envoyPid, upstream: running.upstreamPid }),
  serverCore: ['server', 'envoy'],

  verify: (ctx, state, running, c) => verifyEcho(c.name, running.port, running.mix, c.role !== 'ceiling'),

  saturate: (ctx, state, running, seconds, tag) =>
    withEnvoyCounters(running, () => wrk({ bin: ctx.tools.wrk, core: ctx.cores.generator, port: running.port, mix: running.mix, seconds, connections: connections(ctx), workDir: ctx.workDir, tag }), { saturation: true }),

  fixed: (ctx, state, running, rps, seconds, tag) =>
    withEnvoyCounters(running, () => vegeta({ bin: ctx.tools.vegeta, core: ctx.cores.generator, port: running.port, mix: running.mix, rps, seconds, workDir: ctx.workDir, tag }), { saturation: false }),
};
