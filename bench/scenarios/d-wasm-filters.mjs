/**
 * Scenario D: the proxy-wasm filters in Envoy. Envoy (V8) runs
 * request-logger then custom-auth (build/wasm/, built by
 * wasm-filters/build.mjs when stale) in front of the echo upstream; against
 * Envoy with no filter (the ceiling) and against the same logic as two Lua
 * filters (bench/lua/request-logger.lua, bench/lua/custom-auth.lua). The
 * filters run inside Envoy, so Envoy is the server under test: it has the
 * server core, the load generators and the echo upstream the generator core.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startEnvoyStack, withEnvoyCounters } from '../lib/envoy-stack.mjs';
import { luaFilter, luaLiteral, wasmFilter } from '../lib/filters.mjs';
import { vegeta, wrk } from '../lib/http-load.mjs';
import { BENCH_DIR } from '../lib/paths.mjs';
import { sleep } from '../lib/proc.mjs';
import { httpExchange, jsonOrUndefined } from '../lib/verify.mjs';

const CONNECTIONS = 50;
/** A smoke run's second of load must see answers even on a starved CI core: a short queue. */
const connections = (ctx) => (ctx.opts.smoke ? 4 : CONNECTIONS);

/** Names in the results. */
export const D = { wasm: 'wasm filters', lua: 'Lua equivalent', none: 'no filter' };

/** custom-auth's configuration (as in test/e2e/wasm-filters/custom-auth.corpus.json): API keys, HS256 JWT, rules. */
export const AUTH_CONFIG = {
  apiKeys: {
    header: 'x-api-key',
    keys: [
      { key: 'key-alice-0123456789', subject: 'alice', scopes: ['orders:read', 'orders:write'] },
      { key: 'key-bob-0123456789', subject: 'bob', scopes: ['orders:read'] },
      { key: 'key-root-0123456789', subject: 'root', scopes: ['admin'] },
    ],
  },
  jwt: { secret: 'bench-secret-0123456789-abcdefghijkl', issuer: 'https://issuer.example', audience: 'orders-api' },
  rules: [
    { prefix: '/public', anonymous: true },
    { prefix: '/blocked', deny: true },
    { prefix: '/admin', scopes: ['admin'] },
    { prefix: '/orders', methods: ['POST', 'PUT', 'DELETE'], scopes: ['orders:write'] },
    { prefix: '/orders', scopes: ['orders:read'] },
    { prefix: '/tenants/acme', claims: { tenant: 'acme' } },
  ],
  defaultPolicy: 'authenticated',
};

/** request-logger's configuration (as in its corpus). */
export const LOGGER_CONFIG = { headers: ['x-trace', 'user-agent'], metricPrefix: 'request_logger', excludePaths: ['/healthz'] };

/** An HS256 token for AUTH_CONFIG.jwt, valid until 2100; `secret` forges one. */
function token(claims, secret = AUTH_CONFIG.jwt.secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ iss: AUTH_CONFIG.jwt.issuer, aud: AUTH_CONFIG.jwt.audience, exp: 4102444800, iat: 1767225600, ...claims });
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
}

const base = (i) => ({ 'user-agent': 'iacdash-bench', 'x-trace': `trace-${i}` });
const bearer = (claims, secret) => ({ authorization: `Bearer ${token(claims, secret)}` });

/** The mix: five allowed (API key, JWT, anonymous), three denied. `expect` is what the client and the upstream must see. */
const MIX = [
  { name: 'alice key GET orders', method: 'GET', path: '/orders?page=2', headers: { 'x-api-key': 'key-alice-0123456789' }, expect: { status: 200, subject: 'alice', method: 'api-key' } },
  { name: 'carol JWT GET orders', method: 'GET', path: '/orders/17', headers: bearer({ sub: 'carol', scope: 'orders:read' }), expect: { status: 200, subject: 'carol', method: 'jwt' } },
  { name: 'dave JWT POST order', method: 'POST', path: '/orders', headers: { ...bearer({ sub: 'dave', scope: 'orders:read orders:write' }), 'content-type': 'application/json' }, body: '{"item":"widget","quantity":3}', expect: { status: 200, subject: 'dave', method: 'jwt' } },
  { name: 'no credentials', method: 'GET', path: '/orders', headers: {}, expect: { status: 401, reason: 'missing credentials' } },
  { name: 'bob key DELETE order', method: 'DELETE', path: '/orders/17', headers: { 'x-api-key': 'key-bob-0123456789' }, expect: { status: 403, reason: 'missing scope orders:write' } },
  { name: 'forged JWT', method: 'GET', path: '/admin/stats', headers: bearer({ sub: 'root', scope: 'admin' }, 'not-the-secret-0123456789-abcdefghij'), expect: { status: 401, reason: 'bad token signature' } },
  { name: 'anonymous, spoofed identity', method: 'GET', path: '/public/info', headers: { 'x-auth-subject': 'mallory', 'x-auth-method': 'jwt' }, expect: { status: 200, subject: null } },
  { name: 'erin JWT tenant acme', method: 'GET', path: '/tenants/acme/projects', headers: bearer({ sub: 'erin', tenant: 'acme' }), expect: { status: 200, subject: 'erin', method: 'jwt' } },
].map((r, i) => ({ ...r, headers: { ...base(i), ...r.headers } }));

/** One JSON log line of either logger: its status. */
const LOG_LINE = /\{"method":"([A-Z]+)","path":"([^"]*)","status":(\d+),/g;

/**
 * Sends the mix once with the loggers at info and checks every answer, what
 * the upstream saw, and one log line per request; then back to warn (the
 * level under load). Returns what was seen, per request.
 */
async function verifyFilters(name, running, filtered) {
  const { envoy } = running;
  if (filtered) await envoy.logLevels({ lua: 'info', wasm: 'info' });
  const logStart = envoy.output().length;
  const seen = [];
  for (const r of MIX) {
    const res = await httpExchange(running.port, r);
    const json = jsonOrUndefined(res.body);
    const want = filtered ? r.expect : { status: 200 };
    const got = { request: r.name, status: res.status };
    if (res.status === 200) {
      if (!json?.headers) throw new Error(`${name}: "${r.name}": no echo from the upstream: ${res.body.slice(0, 300)}`);
      got.upstream_subject = json.headers['x-auth-subject'] ?? null;
      got.upstream_method = json.headers['x-auth-method'] ?? null;
    } else {
      got.reason = json?.reason ?? null;
      got.www_authenticate = res.headers['www-authenticate'] ?? null;
    }
    const expected = { status: want.status };
    if (filtered && want.status === 200) Object.assign(expected, { upstream_subject: want.subject, ...(want.method ? { upstream_method: want.method } : {}) });
    if (filtered && want.reason) expected.reason = want.reason;
    for (const [k, v] of Object.entries(expected)) {
      if (got[k] !== v) throw new Error(`${name}: "${r.name}": ${k} is ${JSON.stringify(got[k])}, expected ${JSON.stringify(v)} (HTTP ${res.status}: ${res.body.slice(0, 200)})`);
    }
    seen.push(got);
  }
  if (!filtered) return seen;
  // Log lines reach Envoy's stderr asynchronously.
  let logged = [];
  for (let i = 0; i < 200 && logged.length < MIX.length; i++) {
    logged = [...envoy.output().slice(logStart).matchAll(LOG_LINE)].map((m) => Number(m[3]));
    if (logged.length < MIX.length) await sleep(10);
  }
  await envoy.logLevels({ lua: 'warning', wasm: 'warning' });
  const statuses = MIX.map((r) => r.expect.status);
  if (JSON.stringify(logged) !== JSON.stringify(statuses)) {
    throw new Error(`${name}: the logger wrote statuses ${JSON.stringify(logged)}, expected one line per request ${JSON.stringify(statuses)}:\n${envoy.output().slice(logStart).slice(-2000)}`);
  }
  logged.forEach((status, i) => (seen[i].logged_status = status));
  return seen;
}

function contender(name, role, filters) {
  return { name, role, start: (ctx, state) => startEnvoyStack(ctx, { httpFilters: () => filters(state) }) };
}

export default {
  id: 'D',
  title: 'proxy-wasm filters in Envoy',
  subject: 'iacdash',
  generators: ['wrk', 'vegeta'],
  targets: [
    { of: D.wasm, against: D.none, metric: 'throughput', min: 0.9 },
    { of: D.wasm, against: D.none, metric: 'capacity', min: 0.9 },
  ],
  serverLabel: 'Envoy',

  async setup(ctx) {
    const { ensureFilter } = await import(pathToFileURL(join(ctx.root, 'wasm-filters', 'build.mjs')).href);
    const [auth, logger] = await Promise.all([ensureFilter('custom-auth'), ensureFilter('request-logger')]);
    const lua = (file, config) => `local CONFIG = ${luaLiteral(config)}\n${readFileSync(join(BENCH_DIR, 'lua', file), 'utf8')}`;
    return {
      wasm: { auth: auth.path, logger: logger.path },
      lua: { auth: lua('custom-auth.lua', AUTH_CONFIG), logger: lua('request-logger.lua', LOGGER_CONFIG) },
      mix: MIX,
    };
  },

  describe(ctx, state) {
    return {
      load: `wrk (1 thread, ${connections(ctx)} connections) at saturation, vegeta (open loop) at the fixed rate; the ${state.mix.length}-request mix round-robin (API keys, HS256 JWTs, anonymous; 5 allowed, 3 denied); request-logger then custom-auth, as wasm (V8) or as Lua; Envoy 1 worker on the server core (its CPU and RSS are the server's), wrk, vegeta and the echo upstream on the generator core`,
      mix: state.mix.map((r) => `${r.method} ${r.path} (${r.name}) → ${r.expect.status}`),
      failures: 'Envoy 5xx: a failed wasm VM or Lua script, upstream resets',
    };
  },

  contenders: [
    contender(D.wasm, 'subject', (state) => [wasmFilter(state.wasm.logger, 'request-logger', LOGGER_CONFIG, { failurePolicy: 'FAIL_OPEN' }), wasmFilter(state.wasm.auth, 'custom-auth', AUTH_CONFIG)]),
    contender(D.lua, 'peer', (state) => [luaFilter(state.lua.logger, 'request-logger.lua'), luaFilter(state.lua.auth, 'custom-auth.lua')]),
    contender(D.none, 'ceiling', () => []),
  ],

  pids: (running) => ({ server: running.envoyPid, upstream: running.upstreamPid }),

  verify: (ctx, state, running, c) => verifyFilters(c.name, running, c.role !== 'ceiling'),

  saturate: (ctx, state, running, seconds, tag) =>
    withEnvoyCounters(running, () => wrk({ bin: ctx.tools.wrk, core: ctx.cores.generator, port: running.port, mix: state.mix, seconds, connections: connections(ctx), workDir: ctx.workDir, tag }), { saturation: true }),

  fixed: (ctx, state, running, rps, seconds, tag) =>
    withEnvoyCounters(running, () => vegeta({ bin: ctx.tools.vegeta, core: ctx.cores.generator, port: running.port, mix: state.mix, rps, seconds, workDir: ctx.workDir, tag }), { saturation: false }),
};
