// The proxy-wasm filters in a real Envoy (1.39, V8) and in the local host,
// side by side: every corpus request goes through both, and the client's
// response, what the upstream received, the log lines and the metrics
// (Envoy's admin /stats) must be the same. Then the failure paths: a filter
// that traps under each failure policy, and a configuration the filter
// rejects.
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { ensureFilter } from '../../wasm-filters/build.mjs';
import { ProxyWasmHost, type Exchange, type FailurePolicy } from '../../src/wasm-host/index.js';
import {
  bootstrap,
  cluster,
  listener,
  request,
  routerFilter,
  startEchoUpstream,
  startEnvoy,
  wasmFilter,
  type EchoedRequest,
  type EnvoyProcess,
  type HttpFilter,
  type HttpResponse,
} from './harness/index.js';
import {
  echoUpstream,
  envoyClientHeaders,
  envoyRequest,
  envoyWasmLines,
  histogramBin,
  loadCorpus,
  localClientHeaders,
  localRequest,
  normalizeEcho,
  resolveRequest,
  type Corpus,
  type CorpusCase,
  type LogLine,
} from './wasm-filters/corpus.js';

const FILTERS = ['custom-auth', 'request-logger'] as const;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

/** Histograms from /stats with detailed buckets: name → bins (lower bound repeated by count). */
async function envoyHistograms(envoy: EnvoyProcess): Promise<Record<string, number[]>> {
  const res = await envoy.admin(`/stats?format=json&histogram_buckets=detailed&filter=${encodeURIComponent('^wasmcustom\\.')}`);
  const body = JSON.parse(res.body) as {
    stats?: Array<{ histograms?: { details?: Array<{ name: string; totals: Array<{ lower_bound: number; count: number }> }> } }>;
  };
  const out: Record<string, number[]> = {};
  for (const entry of body.stats ?? []) {
    for (const h of entry.histograms?.details ?? []) {
      out[h.name] = h.totals.flatMap((b) => Array.from({ length: b.count }, () => Number(b.lower_bound.toPrecision(6))));
    }
  }
  return out;
}

function checkCaseExpectations(t: Test, c: CorpusCase, label: string, status: number, body: string, upstream: EchoedRequest | undefined): void {
  const e = c.expect;
  t.equal(status, e.status, `${label}: status`);
  if (e.reason !== undefined) t.match(parseJson(body), { reason: e.reason }, `${label}: reason in the JSON body`);
  if (e.identity) {
    t.match(upstream?.headers, { 'x-auth-subject': e.identity.subject, 'x-auth-method': e.identity.method }, `${label}: identity headers upstream`);
    if (e.identity.scopes !== undefined) t.equal(upstream?.headers['x-auth-scopes'], e.identity.scopes, `${label}: scopes upstream`);
  }
  for (const name of e.upstreamAbsent ?? []) t.notOk(upstream && name in upstream.headers, `${label}: upstream does not see ${name}`);
  if (e.status >= 400 && e.reason !== undefined) t.notOk(upstream, `${label}: a denied request never reaches the upstream`);
}

t.test('the corpus gives the same results in the local host and in Envoy', async (t) => {
  const built = await Promise.all(FILTERS.map((name) => ensureFilter(name)));
  const corpora: Record<string, Corpus> = {};
  for (const name of FILTERS) corpora[name] = await loadCorpus(name);
  for (const b of built) t.comment(`${b.name}: ${b.size} bytes`);

  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  const listeners = FILTERS.map((name, i) =>
    listener(
      0,
      [
        wasmFilter({ filename: built[i]?.path ?? '', rootId: name, configuration: JSON.stringify(corpora[name]?.configuration) }),
        routerFilter(),
      ],
      'echo',
      { name, statPrefix: name.replace('-', '_') },
    ),
  );
  const config = { ...bootstrap({ listeners, clusters: [cluster('echo', upstream.port)] }), stats_flush_on_admin: true };
  const envoy = await startEnvoy({ name: 'wasm-filters', config, componentLogLevel: 'wasm:info' });
  t.teardown(() => envoy.stop());

  for (const [i, name] of FILTERS.entries()) {
    const corpus = corpora[name];
    const module = built[i];
    if (!corpus || !module) throw new Error(`no corpus or module for ${name}`);
    const port = envoy.listenerPorts[name];
    if (port === undefined) throw new Error(`listener ${name} not bound`);
    const authority = `127.0.0.1:${port}`;
    const secret = String((corpus.configuration['jwt'] as { secret?: string } | undefined)?.secret ?? '');
    const host = await ProxyWasmHost.create({
      module: await readFile(module.path),
      rootId: name,
      configuration: JSON.stringify(corpus.configuration),
    });
    t.ok(corpus.cases.length >= 20, `${name}: the corpus has ${corpus.cases.length} requests`);
    const localLines: LogLine[] = [];

    await t.test(`${name}: every request`, async (t) => {
      for (const c of corpus.cases) {
        const resolved = resolveRequest(c.request, secret);
        const localSeen: EchoedRequest[] = [];
        const local: Exchange = await host.exchange(localRequest(resolved, authority), echoUpstream(localSeen));
        const before = upstream.requests.length;
        const res: HttpResponse = await request(port, envoyRequest(resolved));
        const envoySeen = upstream.requests.slice(before);
        localLines.push(...local.logs.filter((l) => l.source === 'module').map((l) => ({ level: l.level, message: l.message })));

        await t.test(c.name, async (t) => {
          const localBody = local.response?.body.toString('utf8') ?? '';
          t.equal(local.response?.status, res.status, 'same status', { envoyLog: envoy.logs().slice(-2000) });
          checkCaseExpectations(t, c, 'local', local.response?.status ?? 0, localBody, localSeen[0]);
          checkCaseExpectations(t, c, 'envoy', res.status, res.body, envoySeen[0]);
          t.same(localClientHeaders(local), envoyClientHeaders(res.headers), 'same client-visible headers');
          if (local.source === 'local') {
            t.equal(localBody, res.body, 'same local-reply body');
          } else {
            const a = parseJson(localBody);
            const b = parseJson(res.body);
            t.same(
              typeof a === 'object' && a !== null ? normalizeEcho(a as EchoedRequest) : a,
              typeof b === 'object' && b !== null ? normalizeEcho(b as EchoedRequest) : b,
              'same response body (the echo of the upstream request)',
            );
          }
          t.equal(localSeen.length, envoySeen.length, 'the upstream is reached in both or in neither');
          const [localUp] = localSeen;
          const [envoyUp] = envoySeen;
          if (localUp && envoyUp) t.same(normalizeEcho(localUp), normalizeEcho(envoyUp), 'the upstream sees the same request');
          if (c.expect.logged === false) {
            t.same(local.logs.filter((l) => l.source === 'module'), [], 'an excluded path logs nothing');
          }
          t.notOk(local.failure, 'the filter never traps');
        });
      }
    });

    await t.test(`${name}: the same log lines`, async (t) => {
      const envoyLines = await eventually(() => {
        const lines = envoyWasmLines(envoy.logs(), name);
        return lines.length >= localLines.length ? lines : undefined;
      }, `${localLines.length} log lines from ${name} in Envoy`);
      const stable = (lines: LogLine[]) => lines.map((l) => ({ ...l, message: l.message.replace(/"duration_ms":\d+/, '"duration_ms":0') }));
      t.same(stable(envoyLines), stable(localLines), 'Envoy and the local host log the same lines, in order');
      t.equal(localLines.length, corpus.cases.filter((c) => c.expect.logged !== false).length, 'one line per logged request');
    });

    await t.test(`${name}: the same metrics`, async (t) => {
      const metrics = host.metrics();
      t.ok(metrics.length > 0, 'the filter defined metrics');
      const scalars = await envoy.stats('^wasmcustom\\.');
      for (const m of metrics.filter((m) => m.kind !== 'histogram')) {
        t.equal(scalars[`wasmcustom.${m.name}`], Number(m.value), `${m.kind} wasmcustom.${m.name}`);
      }
      const histograms = metrics.filter((m) => m.kind === 'histogram');
      // stats_flush_on_admin: histograms merge on the admin request, asynchronously.
      const envoyHist = await eventually(async () => {
        const h = await envoyHistograms(envoy);
        return histograms.every((m) => (h[`wasmcustom.${m.name}`]?.length ?? 0) >= m.samples.length) ? h : undefined;
      }, 'histogram samples in Envoy');
      for (const m of histograms) {
        const bins = envoyHist[`wasmcustom.${m.name}`] ?? [];
        t.equal(bins.length, m.samples.length, `histogram wasmcustom.${m.name}: same number of samples`);
        if (!m.name.endsWith('duration_ms')) {
          const localBins = m.samples.map((v) => Number(histogramBin(Number(v)).toPrecision(6))).sort((a, b) => a - b);
          t.same([...bins].sort((a, b) => a - b), localBins, `histogram wasmcustom.${m.name}: same buckets`);
        }
      }
    });
  }
});

t.test('the local host follows Envoy: callback order, host-call status codes and SDK helpers', async (t) => {
  const [abi, probe, auth, logger] = await Promise.all([
    ensureFilter('abi-check', { test: true }),
    ensureFilter('probe', { test: true }),
    ensureFilter('custom-auth'),
    ensureFilter('request-logger'),
  ]);
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  const config = bootstrap({
    listeners: [
      listener(0, [wasmFilter({ filename: abi.path, rootId: 'abi-check' }), routerFilter()], 'echo', { name: 'abi-check' }),
      listener(0, [wasmFilter({ filename: probe.path, rootId: 'probe' }), routerFilter()], 'echo', { name: 'probe' }),
      // Both filters in one chain: custom-auth answers before request-logger sees the request.
      listener(
        0,
        [
          wasmFilter({ filename: auth.path, rootId: 'custom-auth', configuration: '{"apiKeys":{"keys":[{"key":"chain-key","subject":"svc"}]}}' }),
          wasmFilter({ filename: logger.path, rootId: 'request-logger', configuration: '{"headers":["x-trace"]}' }),
          routerFilter(),
        ],
        'echo',
        { name: 'chain' },
      ),
    ],
    clusters: [cluster('echo', upstream.port)],
  });
  const envoy = await startEnvoy({ name: 'wasm-abi', config, componentLogLevel: 'wasm:info' });
  t.teardown(() => envoy.stop());
  // The probe's http_call goes to the cluster "echo"; the local host gets an emulation of it.
  const callEcho = echoUpstream([]);
  const upstreams = { echo: async (req: { headers: Array<[string, string]>; body: Buffer }) => {
    const pseudo = (n: string) => req.headers.find(([k]) => k === n)?.[1] ?? '';
    const answer = await callEcho({ method: pseudo(':method'), path: pseudo(':path'), authority: pseudo(':authority'), scheme: 'http', headers: req.headers.filter(([k]) => !k.startsWith(':')), body: req.body, trailers: undefined });
    return { status: answer.status, ...(answer.headers ? { headers: answer.headers } : {}), ...(answer.body !== undefined ? { body: answer.body } : {}) };
  } };

  await t.test('abi-check: the same status for every bad or misplaced host call', async (t) => {
    const port = envoy.listenerPorts['abi-check'] ?? 0;
    const res = await request(port, { path: '/abi' });
    t.equal(res.status, 200);
    const host = await ProxyWasmHost.create({ module: await readFile(abi.path), rootId: 'abi-check', upstreams });
    const local = await host.exchange({ path: '/abi', authority: `127.0.0.1:${port}` }, echoUpstream([]));
    const localLines = local.logs.filter((l) => l.source === 'module').map((l) => l.message);
    t.ok(localLines.length >= 40, `the module checked ${localLines.length} calls`);
    const envoyLines = await eventually(() => {
      const lines = envoyWasmLines(envoy.logs(), 'abi-check').map((l) => l.message);
      return lines.length >= localLines.length ? lines : undefined;
    }, 'abi-check lines from Envoy');
    t.same(localLines, envoyLines, 'every status code matches Envoy');
  });

  await t.test('probe: the same callbacks, in the same order, with the same effects', async (t) => {
    const port = envoy.listenerPorts['probe'] ?? 0;
    const authority = `127.0.0.1:${port}`;
    const host = await ProxyWasmHost.create({ module: await readFile(probe.path), rootId: 'probe', upstreams });
    const requests: Array<{ method?: string; path: string; headers: Record<string, string | string[]>; body?: string }> = [
      { path: '/pairs?q=1', headers: { 'x-probe': 'pairs,multi', 'x-multi': ['one', 'two'] } },
      { path: '/headers', headers: { 'x-probe': 'headers', 'x-probe-replaced': ['old1', 'old2'], 'x-probe-removed': 'gone' } },
      { method: 'POST', path: '/body', headers: { 'x-probe': 'body', 'content-length': '10' }, body: 'hello body' },
      { path: '/local', headers: { 'x-probe': 'local' } },
      { path: '/local-plain', headers: { 'x-probe': 'local-plain' } },
      { path: '/call', headers: { 'x-probe': 'call' } },
      { path: '/shared', headers: { 'x-probe': 'shared,metrics' } },
      { path: '/shared', headers: { 'x-probe': 'shared' } },
      { path: '/__status/204', headers: { 'x-probe': 'json,sha,b64', 'x-json': '{"a":[1,2,{"b":null}],"c":"\\u00e9"}', 'x-data': 'abc', 'x-key': 'key', 'x-b64': 'aGVsbG8_' } },
    ];
    const localLines: string[] = [];
    for (const r of requests) {
      const seenLocal: EchoedRequest[] = [];
      const before = upstream.requests.length;
      const res = await request(port, r);
      const envoySeen = upstream.requests.slice(before);
      const local = await host.exchange({ ...r, authority }, echoUpstream(seenLocal));
      localLines.push(...local.logs.filter((l) => l.source === 'module').map((l) => l.message));
      t.equal(local.response?.status, res.status, `${r.path}: same status`);
      t.same(localClientHeaders(local), envoyClientHeaders(res.headers), `${r.path}: same client-visible headers`);
      const scrub = (text: string) => text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<request-id>');
      t.equal(scrub(local.response?.body.toString('utf8') ?? ''), scrub(res.body), `${r.path}: same body (request ids aside)`);
      // The probe's own http_call also reaches the echo upstream in Envoy.
      const envoyRoute = envoySeen.filter((e) => !e.path.startsWith('/__status/201/probe-call'));
      t.same(seenLocal.map(normalizeEcho), envoyRoute.map(normalizeEcho), `${r.path}: the upstream sees the same request`);
    }
    // The http_call response runs on the root context, so take its lines too, minus each VM's start-up lines.
    const startup = /^probe: on_(vm_start|configure|tick)/;
    const envoyLines = await eventually(() => {
      const lines = envoyWasmLines(envoy.logs(), 'probe', { withRoot: true }).map((l) => l.message).filter((m) => !startup.test(m));
      return lines.length >= localLines.length ? lines : undefined;
    }, 'probe lines from Envoy');
    t.same(localLines, envoyLines, 'the same callbacks and values, in order');
    const scalars = await envoy.stats('^wasmcustom\\.probe\\.');
    t.equal(scalars['wasmcustom.probe.requests'], Number(host.metric('probe.requests')?.value), 'same counter');
    t.equal(scalars['wasmcustom.probe.inflight'], Number(host.metric('probe.inflight')?.value), 'same gauge');
  });

  await t.test('request-logger after custom-auth logs denied requests too (regression: an earlier local reply skips onRequestHeaders)', async (t) => {
    const port = envoy.listenerPorts['chain'] ?? 0;
    const denied = await request(port, { method: 'DELETE', path: '/orders/7', headers: { 'x-trace': 't-9' } });
    const allowed = await request(port, { path: '/orders', headers: { 'x-api-key': 'chain-key' } });
    t.equal(denied.status, 401);
    t.equal(allowed.status, 200);
    const lines = await eventually(() => {
      const found = envoyWasmLines(envoy.logs(), 'request-logger').map((l) => l.message);
      return found.length >= 2 ? found : undefined;
    }, 'two request-logger lines');
    t.match(lines[0], /^\{"method":"DELETE","path":"\/orders\/7","status":401,"duration_ms":0,"request_bytes":0,"response_bytes":\d+,"headers":\{"x-trace":"t-9"\}\}$/, 'the denied request is logged with its status');
    t.match(lines[1], /^\{"method":"GET","path":"\/orders","status":200,/);
    t.notMatch(envoy.logs(), /Function: proxy_on_\w+ failed/, 'no filter trapped');
  });
});

/** A listener running the probe filter, which traps when asked, under one failure setting. */
function probeListener(path: string, name: string, extra: Record<string, unknown>): ReturnType<typeof listener> {
  const filter: HttpFilter = wasmFilter({ filename: path, rootId: 'probe', name });
  Object.assign(filter.typed_config['config'] as Record<string, unknown>, extra);
  return listener(0, [filter, routerFilter()], 'echo', { name, statPrefix: name.replace(/-/g, '_') });
}

t.test('a filter that traps behaves as fail_open and failure_policy say, in Envoy and in the local host', async (t) => {
  const probe = await ensureFilter('probe', { test: true });
  const bytes = await readFile(probe.path);
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());

  // One listener per setting: a trap fails the VM for good (or until reloaded).
  // FAIL_RELOAD's backoff is shortened; Envoy 1.39 crashes (SIGFPE) with a 1 ms base interval.
  const settings: Array<{ name: string; envoy: Record<string, unknown>; local: { failurePolicy?: FailurePolicy; failOpen?: boolean }; phase: 'request' | 'response' }> = [
    { name: 'closed-request', envoy: {}, local: {}, phase: 'request' },
    { name: 'open-request', envoy: { failure_policy: 'FAIL_OPEN' }, local: { failurePolicy: 'FAIL_OPEN' }, phase: 'request' },
    { name: 'legacy-open-request', envoy: { fail_open: true }, local: { failOpen: true }, phase: 'request' },
    { name: 'reload-request', envoy: { failure_policy: 'FAIL_RELOAD', reload_config: { backoff: { base_interval: '0.01s' } } }, local: { failurePolicy: 'FAIL_RELOAD' }, phase: 'request' },
    { name: 'closed-response', envoy: {}, local: {}, phase: 'response' },
    { name: 'legacy-open-response', envoy: { fail_open: true }, local: { failOpen: true }, phase: 'response' },
  ];
  const config = bootstrap({
    listeners: settings.map((s) => probeListener(probe.path, s.name, s.envoy)),
    clusters: [cluster('echo', upstream.port)],
  });
  const envoy = await startEnvoy({ name: 'wasm-failures', config, componentLogLevel: 'wasm:info' });
  t.teardown(() => envoy.stop());

  for (const s of settings) {
    await t.test(s.name, async (t) => {
      const port = envoy.listenerPorts[s.name];
      if (port === undefined) throw new Error(`listener ${s.name} not bound`);
      const host = await ProxyWasmHost.create({ module: bytes, rootId: 'probe', name: s.name, ...s.local });
      const trap = { path: '/trap', headers: { 'x-probe': `trap-${s.phase},headers` } };
      const next = { path: '/next', headers: { 'x-probe': 'headers' } };

      upstream.clear();
      const trapLines = () => envoy.logs().match(/Function: proxy_on_\w+ failed: Uncaught RuntimeError: unreachable/g) ?? [];
      const trapsBefore = trapLines().length;
      const envoyTrap = await request(port, trap);
      const localTrap = await host.exchange(trap, echoUpstream([]));
      t.ok(localTrap.failure, 'the local host saw the trap');
      const callback = `proxy_on_${s.phase}_headers`;
      t.equal(localTrap.failure?.callback, callback, 'local: the trap is in the callback that trapped');
      t.match(localTrap.logs.map((l) => l.message).join('\n'), new RegExp(`abort: Index out of range[\\s\\S]*Function: ${callback} failed: Uncaught RuntimeError: unreachable`));
      // Envoy writes its log asynchronously.
      const envoyTraps = await eventually(() => (trapLines().length > trapsBefore ? trapLines() : undefined), 'Envoy to log the trap');
      t.match(envoyTraps[envoyTraps.length - 1], callback, 'Envoy logged the trap the same way');
      const trapReachedUpstream = upstream.requests.length > 0;
      t.equal(localTrap.upstreamRequest !== undefined, trapReachedUpstream, 'the upstream sees the trapping request in both or neither');

      const legacy = s.local.failOpen === true;
      const expectTrapStatus = legacy ? 200 : 503;
      t.equal(envoyTrap.status, expectTrapStatus, 'Envoy: status of the trapping request');
      t.equal(localTrap.response?.status, expectTrapStatus, 'local: status of the trapping request');
      if (!legacy) {
        t.equal(envoyTrap.body, '', 'Envoy: the 503 has no body');
        t.equal(localTrap.response?.body.length, 0, 'local: the 503 has no body');
        t.equal(localTrap.localReply?.details, 'wasm_fail_stream', 'local: response details as Envoy names them');
      }

      if (s.local.failurePolicy === 'FAIL_RELOAD') {
        // Envoy answers 503 while the reload backs off, then runs a fresh VM.
        const envoyNext = await eventually(async () => {
          const res = await request(port, next);
          return res.status === 200 ? res : undefined;
        }, 'Envoy to reload the VM');
        t.equal(JSON.parse(envoyNext.body).headers['x-probe-added'] !== undefined, true, 'Envoy: the reloaded filter runs again');
        const localNext = await host.exchange(next, echoUpstream([]));
        t.equal(localNext.response?.status, 200, 'local: the next request gets a fresh VM at once');
        t.ok(localNext.upstreamRequest?.headers.some(([k]) => k === 'x-probe-added'), 'local: the reloaded filter runs again');
        t.equal(host.reloads.success, 1, 'local: one reload');
        t.ok((await envoy.stats(`^wasm\\.${s.name}\\.vm_reload_success$`))[`wasm.${s.name}.vm_reload_success`]! >= 1, 'Envoy counted the reload');
        return;
      }
      upstream.clear();
      const envoyNext = await request(port, next);
      const localNext = await host.exchange(next, echoUpstream([]));
      const closed = s.local.failurePolicy === undefined && !legacy;
      t.equal(envoyNext.status, closed ? 503 : 200, 'Envoy: a later request');
      t.equal(localNext.response?.status, closed ? 503 : 200, 'local: a later request');
      if (!closed) {
        t.notOk(JSON.parse(envoyNext.body).headers['x-probe-added'], 'Envoy: the failed filter is bypassed');
        t.notOk(localNext.upstreamRequest?.headers.some(([k]) => k === 'x-probe-added'), 'local: the failed filter is bypassed');
        t.equal(localNext.filtered, false, 'local: reports the bypass');
      }
      t.same(localNext.callbacks, [], 'local: a failed VM is never called again');
    });
  }
});

t.test('a configuration the filter rejects stops Envoy from starting, whatever the failure policy, and the local host alike', async (t) => {
  const [auth, logger] = await Promise.all([ensureFilter('custom-auth'), ensureFilter('request-logger')]);
  const cases = [
    { module: auth, rootId: 'custom-auth', configuration: '{"apiKeys":{"keys":[]},"rule":[]}', policy: 'FAIL_OPEN', message: 'custom-auth: invalid configuration: unknown key "rule"' },
    { module: auth, rootId: 'custom-auth', configuration: '{"jwt":{"secret":"too-short"}}', policy: 'FAIL_RELOAD', message: 'custom-auth: invalid configuration: jwt: the HS256 secret must be at least 32 bytes' },
    { module: logger, rootId: 'request-logger', configuration: '{"logLevel":"loud"}', policy: 'FAIL_CLOSED', message: 'request-logger: invalid configuration: logLevel: must be one of trace, debug, info, warn, error, critical' },
    { module: logger, rootId: 'request-logger', configuration: 'not json', policy: 'FAIL_OPEN', message: 'request-logger: invalid configuration: not valid JSON: unexpected character' },
  ] as const;
  for (const c of cases) {
    await t.test(`${c.rootId} ${c.configuration} under ${c.policy}`, async (t) => {
      const config = bootstrap({
        listeners: [
          listener(0, [wasmFilter({ filename: c.module.path, rootId: c.rootId, configuration: c.configuration, failurePolicy: c.policy }), routerFilter()], 'echo', { name: 'bad' }),
        ],
        clusters: [cluster('echo', 9)],
      });
      await t.rejects(
        startEnvoy({ name: 'wasm-bad-config', config, componentLogLevel: 'wasm:info' }),
        new RegExp(`exited with code 1 before it was ready[\\s\\S]*${c.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*Unable to create Wasm plugin ${c.rootId}`),
        'Envoy logs the reason and refuses to start',
      );
      const err = await ProxyWasmHost.create({ module: await readFile(c.module.path), rootId: c.rootId, configuration: c.configuration, failurePolicy: c.policy }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; logs?: string[] },
      );
      t.equal(err?.code, 'start_failed', 'the local host refuses to start it too');
      t.match(err?.logs?.join('\n') ?? '', c.message, 'with the same log line');
    });
  }
});

t.test('the filters format log lines only while Envoy keeps them, and follow a runtime level change on the next request', async (t) => {
  const [logger, auth] = await Promise.all([ensureFilter('request-logger'), ensureFilter('custom-auth')]);
  const corpora = { logger: await loadCorpus('request-logger'), auth: await loadCorpus('custom-auth') };
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  const filters = [
    wasmFilter({ filename: logger.path, rootId: 'request-logger', configuration: JSON.stringify(corpora.logger.configuration) }),
    wasmFilter({ filename: auth.path, rootId: 'custom-auth', configuration: JSON.stringify(corpora.auth.configuration) }),
    routerFilter(),
  ];
  const config = bootstrap({ listeners: [listener(0, filters, 'echo', { name: 'both', statPrefix: 'both' })], clusters: [cluster('echo', upstream.port)] });
  const envoy = await startEnvoy({ name: 'wasm-log-level', config, componentLogLevel: 'wasm:warning' });
  t.teardown(() => envoy.stop());
  const port = envoy.listenerPorts['both'] ?? 0;
  const lines = () => [...envoyWasmLines(envoy.logs(), 'request-logger'), ...envoyWasmLines(envoy.logs(), 'custom-auth')].map((l) => l.message);
  const send = async (trace: string) => {
    const res = await request(port, { path: '/orders/1', headers: { 'x-api-key': 'key-alice-0123456789', 'x-trace': trace } });
    t.equal(res.status, 200, `${trace}: allowed`);
  };

  await send('at-warning');
  await envoy.waitForStat('wasmcustom.request_logger.requests', (v) => v === 1);
  t.same(lines(), [], 'at warning, neither filter logs its info lines (and the request is still counted)');

  t.equal((await envoy.admin('/logging?wasm=info', 'POST')).status, 200);
  await send('at-info');
  const logged = await eventually(() => (lines().length >= 2 ? lines() : undefined), 'the info lines');
  t.match(logged.find((l) => l.startsWith('{')), /"path":"\/orders\/1".*"headers":\{"x-trace":"at-info"/, 'request-logger logs the request after the change');
  t.ok(logged.includes('custom-auth: allow subject=alice method=api-key path=/orders/1'), 'custom-auth logs its decision after the change');

  t.equal((await envoy.admin('/logging?wasm=warning', 'POST')).status, 200);
  await send('back-at-warning');
  await envoy.waitForStat('wasmcustom.request_logger.requests', (v) => v === 3);
  t.same(lines(), logged, 'back at warning: no new lines');
});
