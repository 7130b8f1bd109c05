// The decision cache (authz.decision_cache_size): one evaluation per distinct pruned input, off for policies
// that call non-deterministic builtins, bounded, emptied by a new bundle, counted in the metrics.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Authorizer } from '../../../src/authz/authorizer.js';
import { DecisionCache, MAX_KEY_LENGTH } from '../../../src/authz/decision-cache.js';
import { buildBundle as iacdashBuild } from '../../../src/cli/build.js';
import { parseConfig } from '../../../src/config/load.js';
import { createPolicyStore } from '../../../src/server/server.js';
import type { DecodeResult } from '../../../src/server/strict-decode.js';
import { Logger } from '../../../src/telemetry/log.js';
import { Metrics } from '../../../src/telemetry/metrics.js';
import type { CheckRequestObject } from '../../../src/authz/input.js';
import type { DecisionLogger } from '../../../src/telemetry/decision-log.js';
import { FIXTURES, tempDir } from '../../helpers/bundles.js';

const dir = tempDir();
const quiet = { diagnostics: () => {} };

function build(name: string): string {
  const out = join(dir, `${name}.tar.gz`);
  if (iacdashBuild({ dirs: [join(FIXTURES, 'decision-cache', name)], output: out, entrypoints: [], ...quiet }) !== 0) throw new Error(`build ${name}`);
  return out;
}
const ECHO = build('echo');
const ECHO_V2 = build('echo-v2');
const CLOCK = build('clock');

interface Rig {
  authorizer: Authorizer;
  metrics: Metrics;
  logs: string[];
  /** Evaluations that reached the wasm, over every engine. */
  evaluations: () => number;
  check: (method: string, requestId?: string) => Record<string, string>;
  /** Replaces the bundle file and reloads: a new engine. */
  swap: (next: string) => Promise<void>;
}

async function rig(bundle: string, authz = ''): Promise<Rig> {
  const path = join(dir, `live-${Math.random().toString(36).slice(2)}.tar.gz`);
  copyFileSync(bundle, path);
  const config = parseConfig(`bundle:\n  path: ${JSON.stringify(path)}\n  poll_interval_ms: 0\nauthz:\n  path: envoy/authz/allow\n${authz}`, 'test.yaml');
  const store = createPolicyStore(config);
  await store.reload();
  const metrics = new Metrics({ defaultMetrics: false });
  const logs: string[] = [];
  const authorizer = new Authorizer(store, config, new Logger('info', [], (line) => logs.push(line)), { metrics });
  let evaluations = 0;
  // Count the engine's evaluations: a cache hit must not reach the wasm.
  const watch = (): void => {
    const engine = store.engine!;
    const evaluate = engine.evaluate.bind(engine);
    engine.evaluate = (json: string) => { evaluations++; return evaluate(json); };
  };
  watch();
  const check = (method: string, requestId = 'r-1'): Record<string, string> => {
    const request: DecodeResult<CheckRequestObject> = { ok: true, value: { attributes: { request: { http: { method, path: '/', headers: { 'x-request-id': requestId } } } } } as CheckRequestObject };
    const outcome = authorizer.check(request);
    if (outcome.kind !== 'response') throw new Error(`check: ${outcome.code}`);
    const headers = (outcome.response.okResponse?.['headers'] ?? []) as { header: { key: string; value: string } }[];
    return Object.fromEntries(headers.map((h) => [h.header.key, h.header.value]));
  };
  const swap = async (next: string): Promise<void> => {
    copyFileSync(next, path);
    await store.reload();
    watch();
  };
  return { authorizer, metrics, logs, check, swap, evaluations: () => evaluations };
}

async function counter(metrics: Metrics, name: string): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)!.get();
  return m.values[0]?.value ?? 0;
}

t.test('one evaluation per distinct input the policy reads; fields it does not read do not matter', async (t) => {
  const r = await rig(ECHO);
  t.same(r.check('GET', 'a'), { 'x-method': 'GET', 'x-version': '1' });
  t.same(r.check('GET', 'b'), { 'x-method': 'GET', 'x-version': '1' }, 'another x-request-id: the policy does not read it');
  t.same(r.check('POST'), { 'x-method': 'POST', 'x-version': '1' });
  t.same(r.check('GET'), { 'x-method': 'GET', 'x-version': '1' });
  t.equal(r.evaluations(), 2, 'GET and POST evaluated once each');
  t.equal(await counter(r.metrics, 'iacdash_decision_cache_hits_total'), 2);
  t.equal(await counter(r.metrics, 'iacdash_decision_cache_misses_total'), 2);
  t.equal(await counter(r.metrics, 'iacdash_decision_cache_entries'), 2);
});

t.test('every answer from the cache still carries its own decision id', async (t) => {
  const r = await rig(ECHO);
  const id = (): unknown => {
    const outcome = r.authorizer.check({ ok: true, value: { attributes: { request: { http: { method: 'GET', path: '/', headers: {} } } } } as CheckRequestObject });
    return outcome.kind === 'response' ? outcome.response.dynamicMetadata?.fields?.['decision_id'] : undefined;
  };
  const first = id();
  const second = id();
  t.ok(first);
  t.not(JSON.stringify(first), JSON.stringify(second));
  t.equal(r.evaluations(), 1);
});

t.test('an answer from the cache is logged like any other decision', async (t) => {
  const bundle = join(dir, 'logged.tar.gz');
  copyFileSync(ECHO, bundle);
  const config = parseConfig(`bundle:\n  path: ${JSON.stringify(bundle)}\n  poll_interval_ms: 0\n`, 'test.yaml');
  const store = createPolicyStore(config);
  await store.reload();
  const records: { decisionId: string; result: unknown }[] = [];
  const decisionLog = { log: (r: { decisionId: string; result: unknown }) => records.push(r) > 0 } as unknown as DecisionLogger;
  const metrics = new Metrics({ defaultMetrics: false });
  const authorizer = new Authorizer(store, config, new Logger('warn', [], () => {}), { metrics, decisionLog });
  const request = { ok: true, value: { attributes: { request: { http: { method: 'GET', path: '/', headers: {} } } } } as CheckRequestObject } as const;
  authorizer.check(request);
  authorizer.check(request);
  t.equal(await counter(metrics, 'iacdash_decision_cache_hits_total'), 1, 'the second came from the cache');
  t.equal(records.length, 2, 'both logged');
  t.not(records[0]!.decisionId, records[1]!.decisionId);
  t.same(records[1]!.result, records[0]!.result);
  t.same(records[1]!.result, { allowed: true, headers: { 'x-method': 'GET', 'x-version': '1' } });
});

t.test('a policy calling a non-deterministic builtin is evaluated every time, and the log says why', async (t) => {
  const r = await rig(CLOCK);
  r.check('GET');
  r.check('GET');
  r.check('GET');
  t.equal(r.evaluations(), 3);
  t.equal(await counter(r.metrics, 'iacdash_decision_cache_hits_total'), 0);
  t.equal(await counter(r.metrics, 'iacdash_decision_cache_misses_total'), 0, 'checks the cache is off for count as neither');
  t.match(r.logs.join('\n'), /decision cache off for this bundle.*time\.now_ns/);
});

t.test('decision_cache_size: 0, or prune_input: false, evaluates every time', async (t) => {
  for (const authz of ['  decision_cache_size: 0\n', '  prune_input: false\n']) {
    const r = await rig(ECHO, authz);
    r.check('GET');
    r.check('GET');
    t.equal(r.evaluations(), 2, authz.trim());
    t.equal(await counter(r.metrics, 'iacdash_decision_cache_hits_total'), 0, authz.trim());
  }
});

t.test('the least recently used decision goes first when the cache is full', async (t) => {
  const r = await rig(ECHO, '  decision_cache_size: 2\n');
  r.check('GET');
  r.check('POST');
  r.check('GET'); // hit: GET is now the most recent
  r.check('PUT'); // evicts POST
  t.equal(r.evaluations(), 3);
  r.check('GET');
  t.equal(r.evaluations(), 3, 'GET stayed');
  r.check('POST');
  t.equal(r.evaluations(), 4, 'POST was evicted');
  t.equal(await counter(r.metrics, 'iacdash_decision_cache_entries'), 2);
});

t.test('a new bundle starts with an empty cache', async (t) => {
  const r = await rig(ECHO);
  t.equal(r.check('GET')['x-version'], '1');
  t.equal(r.check('GET')['x-version'], '1');
  await r.swap(ECHO_V2);
  t.equal(r.check('GET')['x-version'], '2', 'the new policy answers, not the old cache');
  t.equal(r.evaluations(), 2, 'once per engine');
});

t.test('DecisionCache keeps no key longer than MAX_KEY_LENGTH', async (t) => {
  const cache = new DecisionCache(10);
  const long = 'x'.repeat(MAX_KEY_LENGTH + 1);
  t.equal(cache.set(long, [{ result: true }]), false);
  t.equal(cache.get(long), undefined);
  t.equal(cache.set('short', [{ result: true }]), true);
  t.same(cache.get('short'), [{ result: true }]);
  t.equal(cache.size, 1);
});
