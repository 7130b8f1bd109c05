// Per-phase cost of the Lua runtime (src/lua): streams in the script's shared
// state (top level run once, as Envoy's worker state), against the older
// isolated streams (fresh globals and the top level per stream) and a fresh VM
// per stream. Prints a table; not a test.
//
//   node --import=./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/lua/phase-cost.ts
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toLua } from '../../src/lua/fengari.js';
import { LuaScript, resolveLimits, type HeaderList, type PhaseStep } from '../../src/lua/index.js';
import { compileChunk, loadState } from '../../src/lua/state.js';
import { LuaVm } from '../../src/lua/vm.js';

const LUA_DIR = fileURLToPath(new URL('../../lua/', import.meta.url));
const source = (name: string): string => readFileSync(`${LUA_DIR}${name}`, 'utf8');

/** Mean and percentiles of fn's duration in microseconds. */
function measure(fn: () => void, iterations: number): { mean: number; p50: number; p99: number } {
  for (let i = 0; i < Math.min(200, iterations); i++) fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number;
  return { mean: samples.reduce((a, b) => a + b, 0) / samples.length, p50: at(0.5), p99: at(0.99) };
}

/** Like measure, timing only `fn` on a value `setup` made outside the clock. */
function measureWith<T>(setup: () => T, fn: (v: T) => void, iterations: number): ReturnType<typeof measure> {
  const values = Array.from({ length: iterations + 200 }, setup);
  let i = 0;
  return measure(() => fn(values[i++] as T), iterations);
}

function expect(step: PhaseStep, kind: PhaseStep['kind']): void {
  if (step.kind !== kind) throw new Error(`bench: expected ${kind}, got ${step.kind}: ${JSON.stringify(step)}`);
}

const rows: Array<[string, ReturnType<typeof measure>]> = [];
const N = 2000;

const authRequest: HeaderList = [[':method', 'GET'], [':path', '/orders'], [':authority', 'shop.example'], ['x-api-key', 'k-3f9a1c'], ['user-agent', 'bench'], ['accept', '*/*']];
const auth = LuaScript.compile(source('authentication.lua'), 'authentication.lua');
const tiny = LuaScript.compile('function envoy_on_request(h) h:headers():add("x-hello", "1") end', 'tiny.lua');
// A generous time budget: this machine may be busy, and the figures are what matter here.
const reqT = LuaScript.compile(source('request-transformation.lua'), 'request-transformation.lua', { maxMillis: 10_000 });
const respT = LuaScript.compile(source('response-transformation.lua'), 'response-transformation.lua');

rows.push(['compile authentication.lua (once per script)', measure(() => LuaScript.compile(source('authentication.lua'), 'a.lua'), 50)]);
rows.push(['compile request-transformation.lua (once per script)', measure(() => LuaScript.compile(source('request-transformation.lua'), 'r.lua'), 50)]);

rows.push(['tiny header add: new stream + request phase', measure(() => expect(tiny.newStream().begin('request', authRequest, { endOfStream: true }), 'done'), N)]);
rows.push(['  isolated stream (fresh globals + top level, as before)', measure(() => expect(tiny.newStream({}, { isolated: true }).begin('request', authRequest, { endOfStream: true }), 'done'), N)]);
rows.push(['authentication: new stream + request phase', measure(() => expect(auth.newStream().begin('request', authRequest, { endOfStream: true }), 'done'), N)]);
rows.push(['  isolated stream (fresh globals + top level, as before)', measure(() => expect(auth.newStream({}, { isolated: true }).begin('request', authRequest, { endOfStream: true }), 'done'), N)]);
rows.push(['authentication: request + response phases', measure(() => {
  const s = auth.newStream();
  expect(s.begin('request', authRequest, { endOfStream: true }), 'done');
  expect(s.begin('response', [[':status', '200'], ['content-type', 'text/plain']], { endOfStream: true }), 'done');
}, N)]);
rows.push(['authentication: 401 through respond()', measure(() => expect(auth.newStream().begin('request', [[':path', '/']], { endOfStream: true }), 'respond'), N)]);

// What a state build costs (once per script, and after a violation): fresh globals, then the top level.
const vm = new LuaVm(resolveLimits());
rows.push(['  part: fresh globals (env + library copies)', measure(() => vm.createEnv(), N)]);
const authChunk = compileChunk(toLua(source('authentication.lua')), 'a.lua', resolveLimits());
rows.push(['  part: fresh globals + authentication.lua top level', measure(() => { if (!loadState(authChunk, {}).ok) throw new Error('init'); }, N)]);
rows.push(['  part: response phase of a stream whose globals exist', measureWith(() => {
  const s = auth.newStream();
  expect(s.begin('request', authRequest, { endOfStream: true }), 'done');
  return s;
}, (s) => expect(s.begin('response', [[':status', '200']], { endOfStream: true }), 'done'), N)]);

// The heaviest isolation: a whole new VM per stream (state, libraries, sandbox, API, parse, top level).
const authSource = toLua(source('authentication.lua'));
rows.push(['alternative: fresh VM per stream, authentication request', measure(() => {
  if (!loadState(compileChunk(authSource, 'a.lua', resolveLimits()), {}).ok) throw new Error('init');
}, 200)]);

const json = JSON.stringify({ items: Array.from({ length: 12 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.25, tags: ['a', 'b'] })), customer: 'c-1' });
const bodyHeaders: HeaderList = [[':method', 'POST'], [':path', '/api/v1/orders'], [':authority', 'shop.example'], ['x-request-id', 'r-1'], ['content-type', 'application/json'], ['content-length', String(json.length)]];
rows.push([`request-transformation, ${json.length} B JSON body (headers + body)`, measure(() => {
  const s = reqT.newStream();
  expect(s.begin('request', bodyHeaders, { endOfStream: false }), 'needs_body');
  expect(s.provideBody(Buffer.from(json)), 'done');
}, 300)]);
// Scenario C's header-only case: the same script on a GET (trims every header, rewrites the path).
const getHeaders: HeaderList = [[':method', 'GET'], [':path', '/api/v1/orders?limit=10'], [':authority', 'localhost:10000'], [':scheme', 'http'], ['user-agent', 'wrk'], ['accept', ' */* '], ['x-request-id', 'r-2'], ['x-forwarded-proto', 'http'], ['x-envoy-expected-rq-timeout-ms', '15000']];
rows.push(['request-transformation, headers only (GET)', measure(() => expect(reqT.newStream().begin('request', getHeaders, { endOfStream: true }), 'done'), N)]);
rows.push(['response-transformation, headers only (text/html)', measure(() => {
  expect(respT.newStream().begin('response', [[':status', '200'], ['content-type', 'text/html'], ['server', 'up'], ['x-internal-a', '1']], { endOfStream: true }), 'done');
}, N)]);

const w = Math.max(...rows.map(([n]) => n.length));
console.log(`${'case'.padEnd(w)}  ${'mean µs'.padStart(9)}  ${'p50 µs'.padStart(9)}  ${'p99 µs'.padStart(9)}`);
for (const [name, r] of rows) {
  console.log(`${name.padEnd(w)}  ${r.mean.toFixed(1).padStart(9)}  ${r.p50.toFixed(1).padStart(9)}  ${r.p99.toFixed(1).padStart(9)}`);
}
console.log(`\nnode ${process.version}; ${N} iterations after warm-up unless fewer are shown in the code.`);
