// Envoy's Lua stream-handle API over plain data: header maps (multi-value,
// 0-based getAtIndex, pairs), buffers, body()/bodyChunks()/trailers() and
// their yields, respond(), metadata, stream info, logs and helpers. Each case
// pins the Envoy semantics named in src/lua/API.md.
import t from 'tap';
import { LuaScript, type HeaderList, type PhaseStep, type StreamContext } from '../../../src/lua/index.js';

const limits = { maxInstructions: 1_000_000, maxMillis: 60_000 };

function compile(body: string, phase: 'request' | 'response' = 'request'): LuaScript {
  return LuaScript.compile(`function envoy_on_${phase}(handle)\n${body}\nend`, 'api.lua', limits);
}

/** Runs the request phase to completion, feeding `body` if the script asks for it. */
function run(body: string, headers: HeaderList = [[':path', '/']], opts: { body?: Buffer | null; ctx?: StreamContext; eos?: boolean } = {}): PhaseStep {
  const s = compile(body).newStream(opts.ctx ?? {});
  let step = s.begin('request', headers, { endOfStream: opts.eos ?? opts.body === undefined });
  if (step.kind === 'needs_body') step = s.provideBody(opts.body ?? null);
  return step;
}

/** The first log message (scripts report through handle:logInfo). */
function said(step: PhaseStep): string[] {
  return step.logs.map((l) => l.message);
}

function setOf(step: PhaseStep): Record<string, string[]> {
  const m = step.kind === 'done' ? step.headers : step.kind === 'error' ? step.partial.headers : undefined;
  return Object.fromEntries((m?.set ?? []).map((s) => [s.name, s.values.map((v) => v.toString('latin1'))]));
}

const multi: HeaderList = [[':path', '/'], ['x-m', 'a'], ['X-Other', '1'], ['x-m', 'b'], ['x-m', 'c']];

t.test('headers: get joins values with ",", getAtIndex is 0-based, getNumValues counts', async (t) => {
  const step = run(
    `local h = handle:headers()
     handle:logInfo(h:get("x-m"))
     local a, c, d, e = h:getAtIndex("x-m", 0), h:getAtIndex("X-M", 2), h:getAtIndex("x-m", 3), h:getAtIndex("x-m", -1)
     handle:logInfo(tostring(a) .. tostring(c) .. tostring(d) .. tostring(e))
     handle:logInfo(h:getNumValues("x-m") .. "/" .. h:getNumValues("nope"))
     handle:logInfo(select("#", h:get("nope")) .. " " .. tostring(h:get("x-other")))`,
    multi,
  );
  t.same(said(step), ['a,b,c', 'acnilnil', '3/0', '0 1']);
});

t.test('headers: add appends, replace drops every value and adds one at the end, remove drops all', async (t) => {
  const step = run(
    `local h = handle:headers()
     h:add("X-New", "1") h:add("x-new", 2)
     h:replace("x-m", "z")
     h:remove("x-other")
     h:add(":authority", "a.example")`,
    multi,
  );
  t.equal(step.kind, 'done');
  if (step.kind !== 'done' || step.headers === undefined) return;
  t.same(setOf(step), { 'x-new': ['1', '2'], 'x-m': ['z'], ':authority': ['a.example'] });
  t.same(step.headers.remove, ['x-other']);
  t.same(
    step.headers.headers.map(([k, v]) => `${k}=${v.toString()}`),
    [':path=/', ':authority=a.example', 'x-new=1', 'x-new=2', 'x-m=z'],
    'pseudo-headers stay first; replace moves the name to the end',
  );
});

t.test('headers: a multi-value change is reported as the complete new list', async (t) => {
  const step = run('local h = handle:headers() h:remove("x-m") h:add("x-m", "c") h:add("x-m", "a")', multi);
  t.same(setOf(step), { 'x-m': ['c', 'a'] });
  const same = run('local h = handle:headers() h:remove("x-m") for _, v in ipairs({"a","b","c"}) do h:add("x-m", v) end', multi);
  t.equal(same.kind === 'done' && same.headers?.changed, false, 'removing and re-adding the same values is no change');
});

t.test('headers: pairs yields every value in order; no change while iterating; no second iterator', async (t) => {
  const step = run(
    `local out = {}
     for k, v in pairs(handle:headers()) do out[#out + 1] = k .. "=" .. v end
     handle:logInfo(table.concat(out, " "))
     handle:headers():add("after", "ok")`,
    multi,
  );
  t.same(said(step), [':path=/ x-m=a x-other=1 x-m=b x-m=c']);
  t.same(setOf(step), { after: ['ok'] }, 'a finished iteration allows changes again');

  const during = run('for k in pairs(handle:headers()) do handle:headers():add("x", "y") end', multi);
  t.match(during.kind === 'error' && during.message, /header map cannot be modified while iterating/);
  const broke = run('for k in pairs(handle:headers()) do break end handle:headers():remove("x-m")', multi);
  t.match(broke.kind === 'error' && broke.message, /header map cannot be modified while iterating/, 'as Envoy: break leaves the iterator open');
  const twice = run('local h = handle:headers() local it = pairs(h) local it2 = pairs(h)', multi);
  t.match(twice.kind === 'error' && twice.message, /cannot create a second iterator before completing the first/);
});

t.test('headers: raw bytes reach the script unchanged and come back unchanged', async (t) => {
  const raw = Buffer.from([0x61, 0xff, 0xfe, 0x80, 0x62]);
  const step = run('local v = handle:headers():get("x-bin") handle:logInfo(#v .. ":" .. v:byte(2)) handle:headers():add("x-copy", v)', [[':path', '/'], ['x-bin', raw]]);
  t.same(said(step), ['5:255']);
  t.ok(step.kind === 'done' && step.headers?.set[0]?.values[0]?.equals(raw), 'non-UTF-8 bytes round-trip exactly');
});

t.test('headers: NUL, CR and LF are refused in names and values', async (t) => {
  for (const call of ['add("x", "a\\r\\nb")', 'replace("x", "a\\0")', 'add("x\\n", "v")']) {
    const step = run(`handle:headers():${call}`);
    t.match(step.kind === 'error' && step.message, /contains NUL, CR or LF/, call);
  }
});

t.test('body(): yields for the whole body; getBytes is 0-based; setBytes replaces and sets content-length', async (t) => {
  const s = compile(
    `local b = handle:body()
     handle:logInfo(b:length() .. " " .. b:getBytes(0, 5) .. " " .. b:getBytes(6, 5))
     local ok, err = pcall(b.getBytes, b, 8, 5)
     handle:logInfo(tostring(err))
     handle:logInfo(tostring(b:setBytes("replaced")))
     handle:logInfo(handle:headers():get("content-length"))`,
  ).newStream();
  const first = s.begin('request', [[':path', '/'], ['content-length', '11']], { endOfStream: false });
  t.equal(first.kind, 'needs_body');
  t.same(s.waitingFor('request'), 'body');
  const step = s.provideBody(Buffer.from('hello world'));
  t.same(said(step), [
    '11 hello world',
    'api.lua:4: index/length must be >= 0 and (index + length) must be <= buffer size',
    '8',
    '8',
  ]);
  t.ok(step.kind === 'done' && step.body?.equals(Buffer.from('replaced')));
  t.same(setOf(step), { 'content-length': ['8'] });
});

t.test('body(): end of stream without a body is nil, or an empty buffer with always_wrap', async (t) => {
  t.same(said(run('local b = handle:body() handle:logInfo(tostring(b))', [[':path', '/']], { eos: true })), ['nil']);
  const none = run('handle:logInfo(tostring(handle:body()))', [[':path', '/']], { eos: true });
  t.match(none.kind === 'error' && none.message, /bad argument #1 to 'tostring' \(value expected\)/, 'no value at all, as Envoy returns 0 results');
  const wrapped = run('local b = handle:body(true) handle:logInfo(b:length()) b:setBytes("new")', [[':path', '/']], { eos: true });
  t.same(said(wrapped), ['0']);
  t.ok(wrapped.kind === 'done' && wrapped.body?.equals(Buffer.from('new')), 'always_wrap lets a script add a body');
  const nobody = run('local b = handle:body() handle:logInfo(tostring(b))', [[':path', '/']], { body: null, eos: false });
  t.same(said(nobody), ['nil'], 'provideBody(null) resumes with nil');
  const bad = run('handle:body("yes")');
  t.match(bad.kind === 'error' && bad.message, /bad argument #1 to 'body' \(boolean expected, got string\)/);
});

t.test('body(): objects handed out before the yield are dead after it (Envoy: wrappers do not survive yields)', async (t) => {
  const step = run('local h = handle:headers() local b = handle:body() h:get(":path")', [[':path', '/']], { body: Buffer.from('x') });
  t.match(step.kind === 'error' && step.message, /object used outside of proper scope/);
  const again = run('local b = handle:body() handle:headers():add("x-len", b:length())', [[':path', '/']], { body: Buffer.from('xyz') });
  t.same(setOf(again), { 'x-len': ['3'] }, 'asking again after the yield works');
});

t.test('bodyChunks(): one yield per chunk; each chunk comes back as the script left it', async (t) => {
  const s = compile(
    `local n = 0
     for chunk in handle:bodyChunks() do
       n = n + 1
       chunk:setBytes(chunk:getBytes(0, chunk:length()):upper())
     end
     handle:logInfo("chunks=" .. n)`,
  ).newStream();
  const a = s.begin('request', [[':path', '/']], { endOfStream: false });
  t.equal(a.kind, 'needs_body_chunk');
  if (a.kind !== 'needs_body_chunk') return;
  t.equal(a.headers?.changed, false, 'the headers go on with the first chunk request');
  t.equal(a.chunk, undefined);
  const b = s.provideBodyChunk(Buffer.from('abc'), { endOfStream: false });
  t.equal(b.kind, 'needs_body_chunk');
  t.ok(b.kind === 'needs_body_chunk' && b.chunk?.equals(Buffer.from('ABC')));
  t.equal(b.kind === 'needs_body_chunk' && b.headers, undefined, 'headers are released once');
  const c = s.provideBodyChunk(Buffer.from('def'), { endOfStream: true });
  t.equal(c.kind, 'done');
  t.ok(c.kind === 'done' && c.chunk?.equals(Buffer.from('DEF')));
  t.same(said(c), ['chunks=2']);
});

t.test('after the headers went on (bodyChunks), headers and respond() are refused as in Envoy', async (t) => {
  const s = compile('for c in handle:bodyChunks() do end handle:headers():add("x", "y")').newStream();
  s.begin('request', [[':path', '/']], { endOfStream: false });
  const end = s.provideBodyChunk(Buffer.from('a'), { endOfStream: true });
  t.match(end.kind === 'error' && end.message, /header map can no longer be modified/);
  const r = compile('for c in handle:bodyChunks() do end handle:respond({[":status"] = "403"})').newStream();
  r.begin('request', [[':path', '/']], { endOfStream: false });
  const end2 = r.provideBodyChunk(Buffer.from('a'), { endOfStream: true });
  t.match(end2.kind === 'error' && end2.message, /respond\(\) cannot be called if headers have been continued/);
  const late = run('for c in handle:bodyChunks() do end local b = handle:body()', [[':path', '/']], { eos: true });
  t.equal(late.kind, 'done', 'no body at all: bodyChunks ends at once and body() is nil');
});

t.test('trailers(): yields until they come; modifiable; nil when the stream ends without them', async (t) => {
  const s = compile('local tr = handle:trailers() handle:logInfo(tr:get("grpc-status")) tr:replace("grpc-status", "0") tr:add("x-t", "1")').newStream();
  const a = s.begin('request', [[':path', '/']], { endOfStream: false });
  t.equal(a.kind, 'needs_trailers');
  const b = s.provideTrailers([['grpc-status', '13']]);
  t.same(said(b), ['13']);
  t.ok(b.kind === 'done');
  if (b.kind === 'done') t.same(Object.fromEntries(b.trailers?.set.map((x) => [x.name, x.values.map(String)]) ?? []), { 'grpc-status': ['0'], 'x-t': ['1'] });
  const none = run('local tr = handle:trailers() handle:logInfo(tostring(tr))', [[':path', '/']], { eos: true });
  t.same(said(none), ['nil']);
  const withBody = compile('local b = handle:body() local tr = handle:trailers() handle:logInfo(b:length() .. tr:get("x-sum"))').newStream();
  withBody.begin('request', [[':path', '/']], { endOfStream: false });
  const done = withBody.provideBody(Buffer.from('1234'), { trailers: [['x-sum', 'ok']] });
  t.same(said(done), ['4ok'], 'trailers that came with the body are there at once');
});

t.test('respond(): status, headers (string, number or list), body; ends the script', async (t) => {
  const step = run('handle:respond({[":status"] = 403, ["x-a"] = "1", ["X-List"] = {"p", "q"}, ["x-n"] = 5}, "denied") handle:logInfo("not reached")');
  t.equal(step.kind, 'respond');
  if (step.kind !== 'respond') return;
  t.equal(step.status, 403);
  t.same(step.headers.map(([k, v]) => `${k}=${v.toString()}`).sort(), ['x-a=1', 'x-list=p', 'x-list=q', 'x-n=5']);
  t.ok(step.body?.equals(Buffer.from('denied')));
  t.same(said(step), []);
  const nobody = run('handle:respond({[":status"] = "204"})');
  t.equal(nobody.kind === 'respond' && nobody.body, undefined, 'nil body stays absent');
  for (const [table, msg] of [
    ['{}', /:status must be between 200-599/],
    ['{[":status"] = "99"}', /:status must be between 200-599/],
    ['{[":status"] = "abc"}', /:status must be between 200-599/],
    ['nil', /bad argument #1 to 'respond' \(table expected, got nil\)/],
    ['{[":status"] = "200", [1] = "x"}', /header key must be a string/],
  ] as const) {
    const bad = run(`handle:respond(${table}, "x")`);
    t.match(bad.kind === 'error' && bad.message, msg, table);
  }
  const inPcall = run('pcall(function() handle:respond({[":status"] = "401"}) end) handle:logInfo("not reached")');
  t.equal(inPcall.kind, 'respond', 'respond inside pcall still ends the script');
});

t.test('respond() from the response phase fails with Envoy\'s message', async (t) => {
  const s = compile('handle:respond({[":status"] = "403"})', 'response').newStream();
  const step = s.begin('response', [[':status', '200']], { endOfStream: true });
  t.match(step.kind === 'error' && step.message, /respond not currently supported in the response path/);
});

t.test('metadata(): route metadata under the filter name; get and pairs', async (t) => {
  const ctx: StreamContext = { routeMetadata: { str: 's', num: 2, list: [1, 'b', null], obj: { k: true }, nul: null } };
  const step = run(
    `local m = handle:metadata()
     local missing, nul = m:get("missing"), m:get("nul")
     handle:logInfo(m:get("str") .. m:get("num") .. m:get("list")[2] .. tostring(m:get("obj").k) .. tostring(missing) .. tostring(nul))
     local keys = {}
     for k in pairs(m) do keys[#keys + 1] = k end
     table.sort(keys)
     handle:logInfo(table.concat(keys, ","))`,
    [[':path', '/']],
    { ctx },
  );
  t.same(said(step), ['s2btruenilnil', 'list,nul,num,obj,str']);
});

t.test('dynamicMetadata(): set per key, get a copy, pairs; Envoy\'s type rules; kept across phases', async (t) => {
  const script = LuaScript.compile(
    `function envoy_on_request(handle)
       local dm = handle:streamInfo():dynamicMetadata()
       dm:set("ns", "a", {x = 1, list = {"p", "q"}, empty = {}})
       dm:set("ns", "b", "two")
       local copy = dm:get("ns")
       copy.b = "changed"
       local other = dm:get("other")
       handle:logInfo(dm:get("ns").b .. dm:get("ns").a.list[2] .. tostring(other) .. dm:get("upstream").seen)
     end
     function envoy_on_response(handle)
       local ns = handle:streamInfo():dynamicMetadata():get("ns")
       handle:logInfo(ns.b .. ns.a.x)
     end`,
    'dm.lua',
    limits,
  );
  const s = script.newStream({ dynamicMetadata: { upstream: { seen: 'yes' } } });
  const req = s.begin('request', [[':path', '/']], { endOfStream: true });
  t.same(said(req), ['twoqnilyes']);
  t.same(req.dynamicMetadata, { ns: { a: { x: 1, list: ['p', 'q'], empty: {} }, b: 'two' } });
  const resp = s.begin('response', [[':status', '200']], { endOfStream: true });
  t.same(said(resp), ['two1']);
  t.same(resp.dynamicMetadata, {}, 'a step reports only its own changes');
  for (const [value, msg] of [
    ['function() end', /unexpected type 'function' in dynamicMetadata/],
    ['{[true] = 1}', /unexpected type boolean in table key/],
  ] as const) {
    const bad = run(`handle:streamInfo():dynamicMetadata():set("ns", "k", ${value})`);
    t.match(bad.kind === 'error' && bad.message, msg, value);
  }
});

t.test('streamInfo(): facts from the context; missing ones raise a named error; ssl nil on plain connections', async (t) => {
  const ctx: StreamContext = { streamInfo: { protocol: 'HTTP/1.1', routeName: 'r1', downstreamRemoteAddress: '10.0.0.1:5000' }, ssl: false };
  const step = run(
    `local si = handle:streamInfo()
     handle:logInfo(si:protocol() .. " " .. si:routeName() .. " " .. si:downstreamRemoteAddress())
     handle:logInfo(tostring(si:downstreamSslConnection()) .. " " .. tostring(handle:connection():ssl()))`,
    [[':path', '/']],
    { ctx },
  );
  t.same(said(step), ['HTTP/1.1 r1 10.0.0.1:5000', 'nil nil']);
  const missing = run('handle:streamInfo():requestedServerName()');
  t.equal(missing.kind === 'error' && missing.code, 'lua_unsupported_api');
  t.match(missing.kind === 'error' && missing.message, /streamInfo\(\):requestedServerName\(\) is not available/);
  const tls = run('local s = handle:connection():ssl() handle:logInfo(tostring(s:peerCertificatePresented()) .. s:tlsVersion())', [[':path', '/']], {
    ctx: { ssl: { peerCertificatePresented: true, tlsVersion: 'TLSv1.3' } },
  });
  t.same(said(tls), ['trueTLSv1.3']);
});

t.test('logs: every level, collected in the step and sent to onLog with the phase', async (t) => {
  const seen: string[] = [];
  const step = run(
    `handle:logTrace("t") handle:logDebug("d") handle:logInfo("i") handle:logWarn("w") handle:logErr("e") handle:logCritical(42) print("p", 1, nil)`,
    [[':path', '/']],
    { ctx: { onLog: (e) => seen.push(`${e.phase}:${e.level}:${e.message}`) } },
  );
  t.same(step.logs, [
    { level: 'trace', message: 't' },
    { level: 'debug', message: 'd' },
    { level: 'info', message: 'i' },
    { level: 'warn', message: 'w' },
    { level: 'error', message: 'e' },
    { level: 'critical', message: '42' },
    { level: 'info', message: 'p\t1\tnil' },
  ]);
  t.equal(seen.length, 7);
  t.equal(seen[0], 'request:trace:t');
});

t.test('base64Escape, base64Decode, timestamp, timestampString', async (t) => {
  const step = run(
    `handle:logInfo(handle:base64Escape("\\0\\255hi?"))
     handle:logInfo(tostring(handle:base64Decode("aGk=")) .. tostring(handle:base64Decode("!!")))
     handle:logInfo(tostring(handle:timestamp()) .. " " .. tostring(handle:timestamp(EnvoyTimestampResolution.MILLISECOND)))
     handle:logInfo(handle:timestampString() .. " " .. handle:timestampString(EnvoyTimestampResolution.MICROSECOND))
     handle:logInfo(string.format("%d", handle:timestamp()))
     local ok, err = pcall(handle.timestamp, handle, EnvoyTimestampResolution.MICROSECOND)
     handle:logInfo(err)`,
    [[':path', '/']],
    { ctx: { now: () => 1_700_000_000_123.9 } },
  );
  t.same(said(step), [
    'AP9oaT8=',
    'hinil',
    '1700000000123 1700000000123',
    '1700000000123 1700000000123900',
    '1700000000123',
    'api.lua:7: timestamp format must be MILLISECOND.',
  ]);
});

t.test('unsupported Envoy APIs raise an error naming the call', async (t) => {
  for (const call of ['httpCall("c", {}, "", 1)', 'importPublicKey("k", 1)', 'verifySignature("sha256", "k", "s", 1, "d", 1)', 'clearRouteCache()', 'setUpstreamOverrideHost("1.2.3.4")']) {
    const name = call.slice(0, call.indexOf('('));
    const step = run(`handle:${call}`);
    t.equal(step.kind === 'error' && step.code, 'lua_unsupported_api', name);
    t.match(step.kind === 'error' && step.message, `iacdash: handle:${name}() is not supported out of process`);
  }
  const filterState = run('handle:streamInfo():filterState()');
  t.match(filterState.kind === 'error' && filterState.message, /streamInfo\(\):filterState\(\) is not supported out of process/);
  const ssl = run('handle:connection():ssl()');
  t.match(ssl.kind === 'error' && ssl.message, /connection\(\):ssl\(\) is not available/);
});

t.test('a handle kept from one phase is dead in the next', async (t) => {
  const script = LuaScript.compile(
    'local saved function envoy_on_request(h) saved = h end function envoy_on_response(h) saved:headers() end',
    'keep.lua',
    limits,
  );
  const s = script.newStream();
  t.equal(s.begin('request', [[':path', '/']], { endOfStream: true }).kind, 'done');
  const resp = s.begin('response', [[':status', '200']], { endOfStream: true });
  t.match(resp.kind === 'error' && resp.message, /object used outside of proper scope/);
});

t.test('downstreamRequestHeaders() in the response phase sees the request as it left the script', async (t) => {
  const script = LuaScript.compile(
    `function envoy_on_request(h) h:headers():add("x-added", "1") end
     function envoy_on_response(h) local r = h:downstreamRequestHeaders() h:logInfo(r:get(":path") .. r:get("x-added")) end`,
    'drh.lua',
    limits,
  );
  const s = script.newStream();
  s.begin('request', [[':path', '/p']], { endOfStream: true });
  t.same(said(s.begin('response', [[':status', '200']], { endOfStream: true })), ['/p1']);
});

t.test('a phase the script does not define is skipped', async (t) => {
  const s = compile('handle:logInfo("x")').newStream();
  const step = s.begin('response', [[':status', '200']], { endOfStream: true });
  t.same({ kind: step.kind, skipped: step.kind === 'done' && step.skipped }, { kind: 'done', skipped: true });
});

t.test('provide* out of order throws (a transport bug, not a script failure)', async (t) => {
  const s = compile('handle:headers()').newStream();
  t.throws(() => s.provideBody(Buffer.from('x')), /no phase is waiting for a body/);
  s.begin('request', [[':path', '/']], { endOfStream: true });
  t.throws(() => s.begin('request', [[':path', '/']], { endOfStream: true }), /already began/);
});

t.test('a body above maxBodyBytes is an error step, as is setBytes above it', async (t) => {
  const script = LuaScript.compile('function envoy_on_request(h) local b = h:body() b:setBytes(string.rep("x", 20)) end', 'big.lua', {
    maxBodyBytes: 16,
    maxStringBytes: 64,
  });
  const s = script.newStream();
  s.begin('request', [[':path', '/']], { endOfStream: false });
  const big = s.provideBody(Buffer.alloc(17));
  t.equal(big.kind === 'error' && big.code, 'lua_memory_exceeded');
  const s2 = script.newStream();
  s2.begin('request', [[':path', '/']], { endOfStream: false });
  const set = s2.provideBody(Buffer.alloc(3));
  t.equal(set.kind === 'error' && set.code, 'lua_memory_exceeded');
  t.match(set.kind === 'error' && set.message, /body of 20 bytes exceeds the limit of 16 bytes/);
});

t.test('ext_proc order: the body arrives before the trailers; body() stays valid and trailers() then waits', async (t) => {
  const s = compile('local b = handle:body() b:setBytes("B") local n = handle:body():length() local tr = handle:trailers() handle:logInfo(n .. tr:get("x-t"))').newStream();
  t.equal(s.begin('request', [[':path', '/']], { endOfStream: false }).kind, 'needs_body');
  const mid = s.provideBody(Buffer.from('body'), { endOfStream: false });
  t.equal(mid.kind, 'needs_trailers');
  if (mid.kind !== 'needs_trailers') return;
  t.ok(mid.body?.equals(Buffer.from('B')), 'the replaced body goes on with the trailers wait');
  t.same(mid.headers?.set.map((x) => [x.name, x.values.map(String)]), [['content-length', ['1']]]);
  const end = s.provideTrailers([['x-t', 'T']]);
  t.same(said(end), ['1T']);
  t.equal(end.kind === 'done' && end.body, undefined, 'the body is released once');
});
