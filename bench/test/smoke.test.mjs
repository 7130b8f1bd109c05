/**
 * The harness works end to end (`run.mjs --smoke`: every scenario, a second
 * or two per contender) and its pure parts compute what they claim. No
 * assertion on any timing or rate: only that figures exist and are sane in
 * kind, that correctness gates held, and that the outputs are well formed.
 * Run: node --test bench/test/
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { medianOf, rotate } from '../lib/driver.mjs';
import { selfTimes } from '../lib/profile.mjs';
import { resultsMarkdown, targetResult } from '../lib/report.mjs';
import { luaLiteral } from '../lib/filters.mjs';
import { checkRequestMix, delimited, HTTP_MIX } from '../lib/requests.mjs';
import { importDist } from '../lib/paths.mjs';
import { startBareGrpc } from '../lib/servers.mjs';
import { median, percentile } from '../lib/stats.mjs';
import { esc, resultsSvg } from '../lib/svg.mjs';
import { wrkScript } from '../lib/http-load.mjs';

const RUN = fileURLToPath(new URL('../run.mjs', import.meta.url));

test('percentile is nearest-rank and median averages the middle pair', () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 500);
  assert.equal(percentile(xs, 99), 990);
  assert.equal(percentile(xs, 99.9), 999);
  assert.equal(percentile(xs, 100), 1000);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([1, NaN, 3]), 2);
});

test('rounds alternate the order of the contenders', () => {
  assert.deepEqual(rotate(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(rotate(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(rotate(['a', 'b', 'c'], 5), ['c', 'a', 'b']);
});

test('medianOf takes the median of every numeric leaf, one level deep', () => {
  const m = medianOf([{ a: 1, cpu: { server: 1 } }, { a: 5, cpu: { server: 3 } }, { a: 2, cpu: { server: 2 }, note: 'x' }]);
  assert.deepEqual(m, { a: 2, cpu: { server: 2 } });
});

test('the CheckRequest mix round-trips through the length-delimited file ghz reads', async () => {
  const mix = await checkRequestMix();
  assert.equal(mix.length, HTTP_MIX.length);
  assert.ok(mix.some((r) => r.expect === 200) && mix.some((r) => r.expect !== 200), 'allowed and denied requests');
  const { envoyProtoRoot } = await importDist('server/protos.js');
  const protobuf = (await import(join(fileURLToPath(new URL('../../node_modules/protobufjs/index.js', import.meta.url))))).default;
  const type = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
  const reader = protobuf.Reader.create(delimited(mix.map((r) => r.bytes)));
  const methods = [];
  while (reader.pos < reader.len) methods.push(type.decodeDelimited(reader).attributes.request.http.method);
  assert.deepEqual(methods, HTTP_MIX.map((e) => e.method));
});

test('the wrk script quotes Lua strings', () => {
  const script = wrkScript([{ method: 'POST', path: '/x', headers: { a: 'say "hi"\\' }, body: '{"k":"v"}\n' }]);
  assert.match(script, /\["a"\] = "say \\"hi\\"\\\\"/);
  assert.match(script, /"\{\\"k\\":\\"v\\"\}\\n"/);
});

test('selfTimes attributes each sample interval to the sampled function', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'hot', url: 'file:///r/src/a.js', lineNumber: 9 } },
      { id: 3, callFrame: { functionName: 'cold', url: 'file:///r/src/b.js', lineNumber: 0 } },
      { id: 4, callFrame: { functionName: 'opa_eval', url: 'wasm://wasm/opa.wasm-00ab', lineNumber: 0 } },
    ],
    samples: [2, 2, 3, 4, 2],
    // timeDeltas[i] is the gap before sample i, so sample i ran for timeDeltas[i + 1].
    timeDeltas: [0, 1000, 1000, 2000, 1000],
  };
  const t = selfTimes(profile, '/r');
  assert.equal(t.functions[0].function, 'hot');
  assert.equal(t.functions[0].where, 'src/a.js:10');
  assert.equal(t.functions[0].self_ms, 2);
  assert.equal(t.functions.find((f) => f.function === 'cold').self_ms, 2);
  assert.equal(t.files.length, 3);
  assert.equal(t.total_ms, 5);
  assert.equal(t.categories.find((c) => c.category === 'policy evaluation (OPA wasm)').self_ms, 1);
  assert.equal(t.categories.find((c) => c.category === 'other').self_ms, 4);
});

test('luaLiteral writes a Lua table constructor for a JSON value', () => {
  assert.equal(luaLiteral({ a: 'say "hi"\\', b: [1, true, null], 'x-y': { n: -2.5 } }), '{["a"] = "say \\"hi\\"\\\\", ["b"] = {1, true, nil}, ["x-y"] = {["n"] = -2.5}}');
  // A control character becomes a three-digit escape, so a digit after it is not swallowed.
  assert.equal(luaLiteral('a\n1'), '"a\\0101"');
});

test('a target is met, not met, or without a figure', () => {
  const s = {
    contenders: {
      x: { median: { saturation: { rps: 80 }, fixed: { p99_us: 10 }, peak_rss_mib: 50 } },
      y: { median: { saturation: { rps: 100 }, fixed: { p99_us: 20 }, peak_rss_mib: 40 } },
      z: { median: {} },
    },
  };
  assert.deepEqual(targetResult(s, { of: 'x', against: 'y', metric: 'throughput', min: 0.7 }), { ratio: 0.8, met: true });
  assert.deepEqual(targetResult(s, { of: 'x', against: 'y', metric: 'throughput', min: 0.9 }), { ratio: 0.8, met: false });
  assert.deepEqual(targetResult(s, { of: 'x', against: 'y', metric: 'p99', max: 1 }), { ratio: 0.5, met: true });
  assert.deepEqual(targetResult(s, { of: 'x', against: 'y', metric: 'rss', max: 1 }), { ratio: 1.25, met: false });
  assert.equal(targetResult(s, { of: 'x', against: 'z', metric: 'throughput', min: 1 }).met, undefined);
  // Capacity: requests per CPU second, so half the CPU per request is twice the capacity.
  const u = { contenders: { p: { median: { cpu_s_per_10k_at_saturation: { server: 2 } } }, q: { median: { cpu_s_per_10k_at_saturation: { server: 4 } } } } };
  assert.deepEqual(targetResult(u, { of: 'p', against: 'q', metric: 'capacity', min: 0.9 }), { ratio: 2, met: true });
  // Sidecar + Envoy together when the scenario says so.
  const t = { basis: 'server+envoy', contenders: { a: { median: { peak_rss_mib: 10, peak_rss_mib_envoy: 30 } }, b: { median: { peak_rss_mib_envoy: 20 } } } };
  assert.deepEqual(targetResult(t, { of: 'a', against: 'b', metric: 'rss', max: 1 }), { ratio: 2, met: false });
});

test('the bare server answers each ext_proc phase with an empty CONTINUE for that phase', async () => {
  const { envoyProtoRoot } = await importDist('server/protos.js');
  const grpc = (await import(join(fileURLToPath(new URL('../../node_modules/@grpc/grpc-js/build/src/index.js', import.meta.url))))).default;
  const ProcessingRequest = envoyProtoRoot().lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const ProcessingResponse = envoyProtoRoot().lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
  const headers = { headers: { headers: [{ key: ':path', rawValue: Buffer.from('/x') }] }, endOfStream: false };
  const sent = [
    ['requestHeaders', { requestHeaders: headers, attributes: { 'envoy.filters.http.ext_proc': { fields: { 'request.path': { stringValue: '/x' } } } } }],
    ['responseHeaders', { responseHeaders: headers }],
    ['requestBody', { requestBody: { body: Buffer.from('{"a":1}'), endOfStream: true } }],
    ['responseBody', { responseBody: { body: Buffer.alloc(300, 0x61) } }],
    ['requestTrailers', { requestTrailers: {} }],
    // Fields before the phase are skipped, not read as one.
    ['responseTrailers', { metadataContext: { filterMetadata: { a: { fields: { b: { numberValue: 1 } } } } }, responseTrailers: {} }],
  ];
  const server = await startBareGrpc({});
  const client = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
  try {
    const answers = await new Promise((resolve, reject) => {
      const got = [];
      const call = client.makeBidiStreamRequest('/envoy.service.ext_proc.v3.ExternalProcessor/Process', (b) => b, (b) => b);
      call.on('data', (b) => got.push(ProcessingResponse.toObject(ProcessingResponse.decode(b))));
      call.on('error', reject);
      call.on('status', (st) => (st.code === 0 ? resolve(got) : reject(new Error(st.details))));
      for (const [, message] of sent) call.write(Buffer.from(ProcessingRequest.encode(ProcessingRequest.fromObject(message)).finish()));
      call.end();
    });
    assert.deepEqual(answers, sent.map(([phase]) => ({ [phase]: {} })));
  } finally {
    client.close();
    await server.stop();
  }
});

test('svg text is escaped', () => {
  assert.equal(esc('a<b & "c">'), 'a&lt;b &amp; &quot;c&quot;&gt;');
});

test('smoke run: every scenario, every contender, with well-formed outputs', { timeout: 15 * 60_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'iacdash-bench-smoke-'));
  try {
    const r = spawnSync(process.execPath, [RUN, '--smoke', '--out', out], { encoding: 'utf8', timeout: 14 * 60_000 });
    assert.equal(r.status, 0, `run.mjs --smoke failed:\n${r.stderr}\n${r.stdout}`);
    const run = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    assert.equal(run.smoke, true);
    assert.deepEqual(run.scenarios.map((s) => s.id), ['A', 'B', 'C', 'D']);
    for (const s of run.scenarios) {
      assert.ok(s.fixed_rps >= 1, `${s.id}: a fixed rate was chosen`);
      const names = Object.keys(s.contenders);
      assert.ok(names.some((n) => s.contenders[n].role === 'subject') && names.some((n) => s.contenders[n].role === 'peer'), `${s.id}: subject and peer`);
      for (const [name, c] of Object.entries(s.contenders)) {
        const m = c.median;
        assert.ok(m.saturation.requests > 0, `${s.id} ${name}: answered requests at saturation`);
        assert.ok(m.fixed.requests > 0 && Number.isFinite(m.fixed.p99_us), `${s.id} ${name}: latency at the fixed rate`);
        assert.ok(Number.isFinite(m.ready_ms), `${s.id} ${name}: time to ready`);
        // At half the slowest saturation nothing may fail (at saturation an overloaded CI machine may time out).
        if (s.id === 'A') assert.equal(m.fixed.non_ok, 0, `${s.id} ${name}: only OK answers`);
        if (s.id !== 'A') assert.equal(m.fixed.failed, 0, `${s.id} ${name}: no failed request`);
        if (s.id === 'A' || s.id === 'D' || (s.id === 'B' && c.role !== 'ceiling')) assert.ok(m.peak_rss_mib > 0, `${s.id} ${name}: peak RSS`);
        if (s.id === 'C') assert.ok(m.peak_rss_mib_envoy > 0, `${s.id} ${name}: Envoy's peak RSS`);
      }
    }
    const a = run.scenarios.find((s) => s.id === 'A');
    assert.equal(a.extras.rounds.length, 1);
    assert.equal(a.extras.rounds[0].hot_swap_non_ok, 0, 'no failed request during the hot swap');
    assert.equal(a.extras.rounds[0].hot_swap_ms_each.length, 2);

    // C: what the echo upstream received, as each contender's check recorded it before load.
    const c = run.scenarios.find((s) => s.id === 'C');
    assert.equal(c.extras.rounds[0].hot_swap_non_ok, 0, 'no failed request during the script hot swap');
    assert.equal(c.extras.rounds[0].hot_swap_ms_each.length, 2);
    const seen = (sc, name) => sc.contenders[name].rounds[0].verified;
    for (const name of ['ext_proc → iacdash', 'native Lua']) {
      const got = seen(c, name);
      assert.deepEqual(got.map((g) => g.upstream_path), ['/v1/orders?limit=10', '/v1/users/42', '/api/v2/teams/042/projects?page=2', '/v1/orders/17'], `${name}: /api/v1/ rewritten to /v1/`);
      assert.deepEqual(got.map((g) => g.upstream_accept), ['application/json', '*/*', 'text/html', 'application/json'], `${name}: accept lowercased`);
      assert.ok(got.every((g) => g.upstream_x_user_id === null), `${name}: the client's x-user-id dropped`);
    }
    for (const name of ['ext_proc → iacdash, body', 'native Lua, body']) {
      for (const g of seen(c, name)) {
        assert.match(g.upstream_path, /^\/v1\/orders/, `${name} ${g.request}: path rewritten`);
        assert.ok(g.upstream_body_request_id && g.upstream_body_request_id === g.upstream_x_request_id, `${name} ${g.request}: the body carries the request id`);
        assert.equal(g.upstream_body_keeps_fields, true, `${name} ${g.request}: the body keeps the client's fields`);
      }
    }
    // The ext_proc ceiling: Envoy did call the bare server (one stream per request), which changed nothing.
    const bare = c.contenders['ext_proc → bare grpc-js'];
    assert.equal(bare.role, 'ceiling');
    assert.deepEqual(bare.rounds[0].verified.map((g) => g.upstream_path), ['/api/v1/orders?limit=10', '/api/v1/users/42', '/api/v2/teams/042/projects?page=2', '/api/v1/orders/17'], 'bare ext_proc: the path as sent');
    assert.ok(bare.rounds[0].saturation.envoy_ext_proc.streams_started > 0, 'bare ext_proc: Envoy opened ext_proc streams');
    assert.ok(bare.rounds[0].saturation.envoy_ext_proc.stream_msgs_received > 0, 'bare ext_proc: Envoy received its answers');
    const plain = seen(c, 'no filter');
    assert.equal(plain[0].upstream_path, '/api/v1/orders?limit=10', 'no filter: the path as sent');
    assert.equal(plain[0].upstream_x_user_id, 'spoofed', 'no filter: x-user-id as sent');

    // D: custom-auth and request-logger, as wasm and as Lua, answered and logged alike.
    const d = run.scenarios.find((s) => s.id === 'D');
    for (const name of ['wasm filters', 'Lua equivalent']) {
      const got = Object.fromEntries(seen(d, name).map((g) => [g.request, g]));
      assert.deepEqual({ ...got['no credentials'] }, { request: 'no credentials', status: 401, reason: 'missing credentials', www_authenticate: 'Bearer realm="iacdash"', logged_status: 401 }, `${name}: a request without credentials is denied`);
      assert.equal(got['forged JWT'].status, 401, `${name}: a forged JWT is denied`);
      assert.equal(got['forged JWT'].reason, 'bad token signature');
      assert.equal(got['bob key DELETE order'].status, 403, `${name}: a key without the scope is forbidden`);
      assert.equal(got['alice key GET orders'].upstream_subject, 'alice', `${name}: the API key's subject upstream`);
      assert.equal(got['carol JWT GET orders'].upstream_subject, 'carol', `${name}: the JWT's subject upstream`);
      assert.equal(got['carol JWT GET orders'].upstream_method, 'jwt');
      assert.equal(got['anonymous, spoofed identity'].upstream_subject, null, `${name}: a client-sent identity header never reaches the upstream`);
      assert.ok(Object.values(got).every((g) => g.logged_status === g.status), `${name}: one log line per request, with its status`);
    }
    assert.equal(Object.fromEntries(seen(d, 'no filter').map((g) => [g.request, g]))['anonymous, spoofed identity'].upstream_subject, 'mallory', 'no filter: the spoofed header passes');

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    assert.equal(md, resultsMarkdown(run));
    assert.match(md, /\| Contender \| Throughput at saturation/);
    assert.match(md, /\| opa-envoy-plugin \(peer\) \| \d+\.\d\d× \|/);
    assert.match(md, /\| native Lua \(peer\) \| \d+\.\d\d× \|/);
    assert.match(md, /\| native Lua, body \(peer\) \| \d+\.\d\d× \|/);
    assert.match(md, /\| ext_proc → bare grpc-js \(ceiling\) \| \d+\.\d\d× \|/);
    assert.match(md, /\| Lua equivalent \(peer\) \| \d+\.\d\d× \|/);
    assert.match(md, /- throughput of ext_proc → iacdash ÷ native Lua ≥ 0\.7×: \d+\.\d\d×, \*\*(met|not met)\*\*/);
    assert.match(md, /- throughput of wasm filters ÷ no filter ≥ 0\.9×: \d+\.\d\d×, \*\*(met|not met)\*\*/);
    assert.match(md, /- capacity \(1 ÷ sidecar \+ Envoy CPU per request at saturation\) of ext_proc → iacdash ÷ native Lua ≥ 0\.7×: \d+\.\d\d×, \*\*(met|not met)\*\*/);
    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    assert.equal(svg, resultsSvg(run));
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    const bars = run.scenarios.reduce((n, sc) => n + 3 * Object.keys(sc.contenders).length, 0);
    assert.equal(bars, 3 * (3 + 3 + 6 + 3));
    assert.equal((svg.match(/<rect /g) ?? []).length, 1 + bars + 3, 'background, 3 bars per contender and scenario, legend');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
