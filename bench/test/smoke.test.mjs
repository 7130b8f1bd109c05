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
import { resultsMarkdown } from '../lib/report.mjs';
import { checkRequestMix, delimited, HTTP_MIX } from '../lib/requests.mjs';
import { importDist } from '../lib/paths.mjs';
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
    assert.deepEqual(run.scenarios.map((s) => s.id), ['A', 'B']);
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
        if (s.id === 'B') assert.equal(m.fixed.failed, 0, `${s.id} ${name}: no failed request`);
        if (c.role !== 'ceiling' || s.id === 'A') assert.ok(m.peak_rss_mib > 0, `${s.id} ${name}: peak RSS`);
      }
    }
    const a = run.scenarios.find((s) => s.id === 'A');
    assert.equal(a.extras.rounds.length, 1);
    assert.equal(a.extras.rounds[0].hot_swap_non_ok, 0, 'no failed request during the hot swap');
    assert.equal(a.extras.rounds[0].hot_swap_ms_each.length, 2);

    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    assert.equal(md, resultsMarkdown(run));
    assert.match(md, /\| Contender \| Throughput at saturation/);
    assert.match(md, /\| opa-envoy-plugin \(peer\) \| \d+\.\d\d× \|/);
    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    assert.equal(svg, resultsSvg(run));
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.equal((svg.match(/<rect /g) ?? []).length, 1 + 2 * 3 * 3 + 3, 'background, 3 bars per contender and scenario, legend');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
